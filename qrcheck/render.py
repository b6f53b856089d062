"""Rendering for people: rich tables for the terminal, markdown for review comments, and the one
number formatter (:func:`fmt`) they all use.

Every function takes plain data (a certificate's JSON dict or a :class:`qrcheck.Certificate`, which
reads the same way, a regime report, an audit report, a sweep's outputs) and returns a rich
``Table`` or text; nothing here computes or writes. Certificate strings are never parsed as rich
markup (they go in as ``Text`` or escaped), so a hostile certificate cannot break the output.
Imports only rich at module level; what a sweep summary needs from :mod:`qrcheck.sweep` is imported
when it is rendered.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from .certificate import CertificateError, read_certificate, schema_issues

SHORT = 12  # hex digits of a digest shown in tables
STATUS_STYLE = {"certified": "bold green", "passed": "green", "violated": "bold red", "undecided": "bold yellow",
                "vacuous": "yellow", "not_applicable": "dim"}


# ---- the number formatter -------------------------------------------------------------------
def fmt(x: Any) -> str:
    """A number in at most ~10 characters ("-" for null; ints below 1e9 in full, others to 4
    significant digits, scientific outside [1e-3, 1e5)); anything else as short text."""
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


def slack(x: float | None) -> str:
    """A log-slack (factors of L) with its sign: ``+1.25``, ``-0.50``, ``+inf``."""
    if x is None:
        return "-"
    if x == float("inf"):
        return "+inf"
    if x == float("-inf"):
        return "-inf"
    return f"{x:+.2f}"


def _m(x: Any) -> str:
    """:func:`fmt` made safe to embed in rich markup."""
    return escape(fmt(x))


# ---- certificates ---------------------------------------------------------------------------
def load_for_show(path: str | Path) -> dict:
    """Read a certificate and check it against the schema; raises :class:`CertificateError` (one line)
    when the file is unreadable, not a certificate or breaks the schema."""
    cert = read_certificate(path)
    issues = schema_issues(cert, limit=1)
    if issues:
        raise CertificateError(f"{path} breaks the certificate schema at {issues[0].path}: {issues[0].message}")
    return cert


def certificate_table(cert: Mapping) -> Table:
    """The property table of a certificate (readable at 100 columns); required properties marked *."""
    p = cert["parameters"]
    req = set(cert.get("required", []))
    t = Table(title=f"qrcheck  n={p['n']} S={p['S']} m={p['m']} seed={p['seed']} profile={escape(str(p['profile']))}",
              caption=escape(str(cert["verdict"])), title_justify="left", caption_justify="left")
    t.add_column("eq", justify="right")
    t.add_column("property", overflow="fold", max_width=26)
    t.add_column("statistic", justify="right")
    t.add_column("", justify="center")
    t.add_column("threshold", justify="right")
    t.add_column("stat/g", justify="right")
    t.add_column("status")
    for eq, r in cert["properties"].items():
        mark = "*" if eq in req else ""
        status = escape(str(r["status"]))
        t.add_row(f"{escape(eq)}{mark}", escape(str(r.get("name", ""))), _m(r["statistic"]),
                  escape(str(r.get("sense", ""))), _m(r["threshold"]), _m(r.get("empirical_constant")),
                  f"[{STATUS_STYLE.get(r['status'], '')}]{status}[/]")
    gd = cert["gd"]
    if gd.get("ran"):
        t.add_section()
        t.add_row("GD", "gradient descent (12)", f"T={_m(gd['T'])}", "", f"|e|={_m(gd['final_error'])}",
                  f"kH={_m(gd['kappa_H'])}", escape(str(gd["status"])))
    return t


def _gd_rows(gd: Mapping) -> list[tuple[str, str]]:
    keys = ("ran", "status", "T", "final_error", "kappa_H", "D", "W_distance", "z_distance", "wall_seconds",
            "seconds_per_step", "reason")
    return [(k, fmt(gd.get(k))) for k in keys if k in gd]


def _provenance_rows(cert: Mapping) -> list[tuple[str, str]]:
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


def _input_rows(cert: Mapping) -> list[tuple[str, str, str, str]]:
    return [(k, "x".join(str(d) for d in v["shape"]), v["source"], v["sha256"][:SHORT])
            for k, v in cert["inputs"].items() if isinstance(v, Mapping) and "sha256" in v]


def _plain(title: str, columns: list[str], rows: list[tuple]) -> Table:
    t = Table(title=title, title_justify="left")
    for c in columns:
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(*(Text(str(v)) for v in r))  # Text: certificate strings are never parsed as markup
    return t


def detail_tables(cert: Mapping) -> list[Table]:
    """Inputs, gradient descent and provenance of a (schema-valid) certificate, as rich tables."""
    tables = [_plain("inputs", ["array", "shape", "source", "sha256"], _input_rows(cert))]
    if cert.get("arrays"):
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


def certificate_markdown(cert: Mapping) -> str:
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


# ---- regime, properties, audit --------------------------------------------------------------
def regime_table(rep) -> Table:
    """Theorem 2.3's hypotheses and the proof's bounds (observed where GD ran), from a
    :class:`qrcheck.regime.RegimeReport`."""
    c = rep.case
    t = Table(title=f"Theorem 2.3  n={c.n} S={c.S} m={c.m} eta_w={c.eta_w:g} eta_z={c.eta_z:g}  "
                    f"L=ln(nS)={c.L:.3f}  case ({c.case})" + ("" if c.theorem_applies else "  [outside]"),
              caption="slack: log_L(bound/value), factors of L to spare (+) or lacking (-) beyond the one "
                      "factor of L per o~/O~; premise off: the proof does not claim the bound here",
              title_justify="left", caption_justify="left")
    for col, just, width in (("eq", "right", None), ("condition / bound", "left", 30), ("value", "right", None),
                             ("", "center", None), ("bound", "right", None), ("slack", "right", None),
                             ("", "left", None), ("premise", "left", None)):
        t.add_column(col, justify=just, overflow="fold", min_width=width)
    for k in c.hypotheses:
        t.add_row(k.equation, k.statement, _m(k.value), k.sense.value, _m(k.bound), slack(k.slack),
                  "[green]ok[/]" if k.holds else "[red]fails[/]", "")
    t.add_section()
    for b in rep.bounds:
        mark = "" if b.holds is None else ("[green]ok[/]" if b.holds else "[red]fails[/]")
        t.add_row(b.equation, b.statement, _m(b.observed), b.sense.value, _m(b.bound), slack(b.slack), mark,
                  "yes" if b.premise else "[dim]off[/]")
    return t


def properties_table(checkers) -> Table:
    """Every registered property checker: equation, name, statement."""
    t = Table(title="qrcheck property checkers", title_justify="left")
    t.add_column("eq", justify="right")
    t.add_column("name")
    t.add_column("statement", overflow="fold")
    for c in checkers:
        t.add_row(c.eq, c.name, c.statement)
    return t


def audit_table(report) -> Table:
    """Mismatches of an audit report: property, where (``field``, or the kernel's ``path`` and
    ``why``), claimed, recomputed."""
    t = Table(title=Text(f"audit of {report.path}: {len(report.mismatches)} mismatch"
                         f"{'' if len(report.mismatches) == 1 else 'es'}"), title_justify="left")
    t.add_column("property")
    t.add_column("field", overflow="fold", max_width=40)
    t.add_column("claimed", overflow="fold", max_width=30)
    t.add_column("recomputed", overflow="fold", max_width=40)
    for m in report.mismatches:
        where = getattr(m, "field", None) or getattr(m, "path", "")
        why = getattr(m, "why", "")
        t.add_row(Text(m.prop), Text(where + (f" ({why})" if why else "")), Text(m.claimed, style="red"),
                  Text(m.recomputed, style="green"))
    return t


# ---- sweeps and the paper -------------------------------------------------------------------
def sweep_table(report, outputs) -> Table:
    """Per (S, m) of a sweep: runs, converged, and the ``min-max; mean`` of T, kappa_H, |D|, ||W_T - W_0||_F."""
    from .sweep import QUANTITIES, format_range

    t = Table(title=f"sweep: {report.total} runs, {report.skipped} already finished, {report.completed} "
                    f"completed now, {report.failed} failed; {report.wall_seconds:.1f} s ({report.backend})",
              title_justify="left")
    for col in ("S", "m", "runs", "conv.", "T", "kappa_H", "|D|", "||W_T-W_0||_F"):
        t.add_column(col, justify="right" if col in ("S", "m", "runs", "conv.") else "left")
    for c in outputs.cells:
        t.add_row(str(c.S), str(c.m), str(c.runs), f"{c.converged}/{c.gd_ran}",
                  *(format_range(c.quantity(q), q) for q in QUANTITIES))
    return t


def outputs_line(outputs) -> str:
    """Where a sweep's summary, table and figures were written."""
    return (f"summary: {outputs.summary_csv}  table: {outputs.table_md}  figures: "
            + (f"{len(outputs.figures)} in {outputs.figures[0].parent}" if outputs.figures
               else f"none ({outputs.figures_skipped or 'disabled'})"))


def local_table(local) -> Table:
    """The local-labels experiment: converged runs, ours against the paper's."""
    t = Table(title="local labels: converged runs, ours vs the paper", title_justify="left")
    for col in ("m", "eta_w", "paper", "ours", "same majority"):
        t.add_column(col)
    for c in local:
        t.add_row(str(c.m), f"{c.eta_w:g}", f"{c.paper_converged}/{c.paper_runs}", f"{c.converged}/{c.runs}",
                  "-" if c.same_majority is None else ("yes" if c.same_majority else "[red]NO[/]"))
    return t


def comparison_table(which: str, comparisons, comparison_md: Path) -> Table:
    """Our means against the paper's printed ranges, one row per (S, m), a column per quantity."""
    from .sweep import QUANTITIES

    t = Table(title=f"ours (mean) against the paper's {which} (min-max); in range?", title_justify="left")
    t.add_column("S", justify="right")
    t.add_column("m", justify="right")
    for q in QUANTITIES:
        t.add_column(q)
    by_cell: dict = {}
    for c in comparisons:
        by_cell.setdefault((c.S, c.m), {})[c.quantity] = c
    for (S, m), qs in by_cell.items():
        cells = []
        for q in QUANTITIES:
            c = qs[q]
            mark = "-" if c.in_range is None else ("[green]in[/]" if c.in_range else "[red]OUT[/]")
            ours = "-" if c.ours is None else f"{c.ours.mean:.4g}"
            paper = "-" if c.paper is None else f"{c.paper.min:g}-{c.paper.max:g}"
            cells.append(f"{ours} {mark} ({paper})")
        t.add_row(str(S), str(m), *cells)
    judged = [c for c in comparisons if c.in_range is not None]
    t.caption = f"{sum(c.in_range for c in judged)} of {len(judged)} in range; details in {comparison_md}"
    return t
