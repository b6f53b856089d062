"""Rendering certificates and audit reports for people: rich tables in the terminal, markdown for
review comments. The property table itself is :func:`qrcheck.cli.render_table` (shared with verify);
this module adds the inputs, gradient-descent and provenance sections and the markdown form.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from .certificate import CertificateError, read_certificate, schema_issues

SHORT = 12  # hex digits of a digest shown in tables


def load_for_show(path: str | Path) -> dict:
    """Read a certificate and check it against the schema; raises :class:`CertificateError` (one line)
    when the file is unreadable, not a certificate or breaks the schema."""
    cert = read_certificate(path)
    issues = schema_issues(cert, limit=1)
    if issues:
        raise CertificateError(f"{path} breaks the certificate schema at {issues[0].path}: {issues[0].message}")
    return cert


def fmt(x: Any) -> str:
    """A number in at most ~10 characters ("-" for null); anything else as short text."""
    if x is None:
        return "-"
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        s = str(x)
        return s if len(s) <= 24 else s[:21] + "..."
    try:
        f = float(x)
    except OverflowError:
        return f"{str(x)[:6]}...({len(str(x))} digits)"
    if isinstance(x, int) and abs(x) < 10**9:
        return str(x)
    if not math.isfinite(f):
        return str(f)
    if f == 0 or 1e-3 <= abs(f) < 1e5:
        return f"{f:.4g}"
    return f"{f:.3e}"


def _gd_rows(gd: dict) -> list[tuple[str, str]]:
    keys = ("ran", "status", "T", "final_error", "kappa_H", "D", "W_distance", "z_distance", "wall_seconds",
            "seconds_per_step", "reason")
    return [(k, fmt(gd.get(k))) for k in keys if k in gd]


def _provenance_rows(cert: dict) -> list[tuple[str, str]]:
    pv = cert["provenance"]
    blas = pv.get("blas") or {}
    prof = pv["profile"]
    eff = pv["search_effort"]
    return [
        ("created", str(cert["created"])),
        ("qrcheck", pv["qrcheck"]),
        ("python / numpy / scipy", f"{pv['python']} / {pv['numpy']} / {pv['scipy']}"),
        ("BLAS", " ".join(str(blas.get(k)) for k in ("name", "version") if blas.get(k))),
        ("platform", pv["platform"]),
        ("profile", f"{prof['name']} ({prof.get('source', '')})"),
        ("search effort", ", ".join(f"{k}={eff[k]}" for k in ("subset_samples", "restarts", "iterations",
                                                              "time_budget"))),
        ("command", " ".join(pv["command"])),
    ]


def _input_rows(cert: dict) -> list[tuple[str, str, str, str]]:
    return [(k, "x".join(str(d) for d in v["shape"]), v["source"], v["sha256"][:SHORT])
            for k, v in cert["inputs"].items() if isinstance(v, dict) and "sha256" in v]


def _plain(title: str, columns: list[str], rows: list[tuple]) -> Table:
    t = Table(title=title, title_justify="left")
    for c in columns:
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(*(Text(str(v)) for v in r))  # Text: certificate strings are never parsed as markup
    return t


def detail_tables(cert: dict) -> list[Table]:
    """Inputs, gradient descent and provenance of a (schema-valid) certificate, as rich tables."""
    tables = [_plain("inputs", ["array", "shape", "source", "sha256"], _input_rows(cert))]
    if "arrays" in cert:
        tables[0].caption = Text(f"arrays embedded in {cert['arrays']['file']} "
                                 f"(sha256 {cert['arrays']['sha256'][:SHORT]})")
    tables.append(_plain("gradient descent (12)", ["", "value"], _gd_rows(cert["gd"])))
    tables.append(_plain("provenance", ["", "value"], _provenance_rows(cert)))
    return tables


def _md(s: Any) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def _md_table(columns: list[str], rows: list[tuple], align: str | None = None) -> list[str]:
    out = ["| " + " | ".join(columns) + " |", align or "|" + "|".join("---" for _ in columns) + "|"]
    out += ["| " + " | ".join(_md(v) for v in r) + " |" for r in rows]
    return out


def render_markdown(cert: dict) -> str:
    """The certificate as markdown, for a review comment: parameters, property table (required ones
    marked *), gradient descent, inputs and provenance."""
    p = cert["parameters"]
    req = set(cert.get("required", []))
    lines = [f"### qrcheck certificate: n={p['n']}, S={p['S']}, m={p['m']}, seed={p['seed']}, "
             f"profile={_md(p['profile'])}", "", f"**Verdict:** {_md(cert['verdict'])}", "",
             f"Regime: case ({_md(cert['regime']['case'])}), Theorem 2.3 "
             f"{'applies' if cert['regime']['theorem_applies'] else 'does not apply'}. "
             "Required properties are marked *.", ""]
    rows = []
    for eq, r in cert["properties"].items():
        rows.append((f"({eq}){'*' if eq in req else ''}", r.get("name", ""), fmt(r["statistic"]),
                     r.get("sense", ""), fmt(r["threshold"]), fmt(r.get("lower")), fmt(r.get("upper")),
                     f"**{r['status']}**" if r["status"] == "violated" else r["status"]))
    lines += _md_table(["eq", "property", "statistic", "", "threshold", "lower", "upper", "status"], rows,
                       "|--:|---|--:|:-:|--:|--:|--:|---|")
    lines += ["", "**Gradient descent (12)**", ""] + _md_table(["", "value"], _gd_rows(cert["gd"]))
    lines += ["", "**Inputs** (sha256 of C-order little-endian float64 bytes)", ""]
    lines += _md_table(["array", "shape", "source", "sha256"],
                       [(k, s, src, f"`{d}`") for k, s, src, d in _input_rows(cert)])
    lines += ["", "**Provenance**", ""] + _md_table(["", "value"], _provenance_rows(cert))
    return "\n".join(lines) + "\n"


def audit_table(report) -> Table:
    """Mismatches of an :class:`qrcheck.audit.AuditReport`: property, field, claimed, recomputed."""
    t = Table(title=Text(f"audit of {report.path}: {len(report.mismatches)} mismatch"
                         f"{'' if len(report.mismatches) == 1 else 'es'}"), title_justify="left")
    t.add_column("property")
    t.add_column("field", overflow="fold", max_width=40)
    t.add_column("claimed", overflow="fold", max_width=30)
    t.add_column("recomputed", overflow="fold", max_width=40)
    for m in report.mismatches:
        t.add_row(Text(m.prop), Text(m.field), Text(m.claimed, style="red"), Text(m.recomputed, style="green"))
    return t
