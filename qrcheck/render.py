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

from pathlib import Path
from typing import Any, Mapping

from rich import box
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from .certificate import CertificateError, read_certificate, schema_issues

SHORT = 12  # hex digits of a digest shown in tables
STATUS_STYLE = {"certified": "bold green", "passed": "green", "violated": "bold red", "undecided": "bold yellow",
                "vacuous": "yellow", "not_applicable": "dim"}


# ---- the number formatter -------------------------------------------------------------------
# fmt lives in qrcheck.results (layer 4), so that the reprs of results and certificates use it too
from .results import fmt  # noqa: E402


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


def status_reason(r: Mapping) -> str:
    """": n* = 2121 > m = 300": one short reason for a ``vacuous`` or ``not_applicable`` row (the
    first clause of ``details.reason``), "" for any other status (issue 10: a pass that rests on
    vacuous checks says why)."""
    if r.get("status") not in ("vacuous", "not_applicable"):
        return ""
    why = str((r.get("details") or {}).get("reason") or "")
    why = why.replace(";", ",").split(",")[0].strip()
    return f": {why}" if why else ""


def certificate_table(cert: Mapping) -> Table:
    """The property table of a certificate, readable at 80 columns: property names and statuses
    wrap between words, numbers never wrap; required properties marked *; a ``vs random`` column
    when the certificate has a baseline (``verify --baseline``); the footer holds the verdict and
    the kernel diagnostics (:func:`diagnostics_lines`)."""
    p = cert["parameters"]
    req = set(cert.get("required", []))
    b = cert.get("baseline")
    base = (b.get("properties") or {}) if isinstance(b, Mapping) else None
    ds = cert.get("dataset")
    data = f" data={ds.get('name')}" if isinstance(ds, Mapping) else ""
    caption = Text("\n".join([str(cert["verdict"]), *diagnostics_lines(cert)]))
    t = Table(title=Text(f"qrcheck  n={p['n']} S={p['S']} m={p['m']} seed={p['seed']} profile={p['profile']}{data}"),
              caption=caption, title_justify="left", caption_justify="left", box=box.SIMPLE_HEAD,
              padding=(0, 1), collapse_padding=True, pad_edge=False)
    t.add_column("eq", justify="right", no_wrap=True)
    t.add_column("property", overflow="fold", min_width=10, max_width=20)
    t.add_column("statistic", justify="right", no_wrap=True)
    t.add_column("", justify="center", no_wrap=True)
    t.add_column("threshold", justify="right", no_wrap=True)
    t.add_column("stat/g", justify="right", no_wrap=True)
    t.add_column("status", overflow="fold", min_width=10)
    if base is not None:
        t.add_column("vs random", no_wrap=True)
    for eq, r in cert["properties"].items():
        mark = "*" if eq in req else ""
        row = [Text(f"{eq}{mark}"), Text(display_name(r.get("name", ""))), Text(fmt(r["statistic"])),
               Text(str(r.get("sense", ""))), Text(fmt(r["threshold"])), Text(fmt(r.get("empirical_constant"))),
               Text(display_name(r["status"]) + status_reason(r), style=STATUS_STYLE.get(r["status"], ""))]
        if base is not None:
            cell = _baseline_cell(base.get(eq))
            row.append(Text(cell, style="bold red" if cell.endswith("FAR") else ""))
        t.add_row(*row)
    gd = cert["gd"]
    if gd.get("ran"):
        t.add_section()
        row = [Text("GD"), Text("gradient descent (12)"), Text(f"T={fmt(gd['T'])}"), Text(""),
               Text(f"|e|={fmt(gd['final_error'])}"), Text(f"kH={fmt(gd['kappa_H'])}"), Text(str(gd["status"]))]
        t.add_row(*(row + ([Text("")] if base is not None else [])))
    return t


def _gd_rows(gd: Mapping, full: bool = False) -> list[tuple[str, str]]:
    keys = ("ran", "status", "T", "initial_error", "final_error", "kappa_H", "kappa_G", "D", "W_distance",
            "z_distance", "lambda_min_H0", "lambda_min_HT", "lambda_min_G0", "lambda_min_GT", "singular_points",
            "wall_seconds", "seconds_per_step", "reason")
    return [(k, (str(gd.get(k)) if full and isinstance(gd.get(k), str) else fmt(gd.get(k)))) for k in keys if k in gd]


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


def _plain(title: str, columns: list[str], rows: list[tuple], caption: str | None = None) -> Table:
    t = Table(title=Text(title), title_justify="left", caption=None if caption is None else Text(caption),
              caption_justify="left", box=box.SIMPLE_HEAD, padding=(0, 1), collapse_padding=True, pad_edge=False)
    for c in columns:
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(*(Text(str(v)) for v in r))  # Text: certificate strings are never parsed as markup
    return t


def detail_tables(cert: Mapping) -> list[Table]:
    """What a reviewer needs beyond the property table, as rich tables: every parameter and the
    verdict's counts, each property's interval, witness and reason, the kernel diagnostics beside
    the random baseline, the baseline per property, Theorem 2.3's hypotheses and bounds (predicted
    against observed), gradient descent with its ``--track-every`` checkpoints, inputs, provenance."""
    counts = verdict_counts(cert)
    tables = [_plain("parameters", ["", "value"], parameter_rows(cert),
                     caption="required properties: " + (", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items())
                                                        or "none"))]
    tables.append(_plain("properties: interval, witness, reason", ["eq", "[lower, upper]", "witness", "reason"],
                         property_detail_rows(cert)))
    if diagnostic_rows(cert):
        tables.append(_plain("kernel diagnostics", ["", "value", "random: median [min, max]"], diagnostic_rows(cert)))
    if baseline_rows(cert):
        b = cert["baseline"]
        tables.append(_plain(f"random baseline: K = {b.get('K')} draws of the same (n, S, m, z_dist)",
                             BASELINE_COLUMNS, baseline_rows(cert), caption=str(b.get("rule", ""))))
    if regime_rows(cert):
        reg = cert["regime"]
        tables.append(_plain(f"Theorem 2.3: case ({reg.get('case')}), "
                             f"{'applies' if reg.get('theorem_applies') else 'does not apply'}",
                             ["eq", "condition / bound", "value", "", "bound", "slack", ""], regime_rows(cert),
                             caption="bounds: predicted by the proof against observed (where GD ran); "
                                     "slack: log_L(bound / value)"))
    tables.append(_plain("gradient descent (12)", ["", "value"], _gd_rows(cert["gd"], full=True)))
    if checkpoint_rows(cert):
        tables.append(_plain("checkpoints (--track-every)", CHECKPOINT_COLUMNS, checkpoint_rows(cert)))
    inputs = _plain("inputs", ["array", "shape", "source", "sha256"], _input_rows(cert))
    if cert.get("arrays"):
        inputs.caption = Text(f"arrays embedded in {cert['arrays']['file']} "
                              f"(sha256 {cert['arrays']['sha256'][:SHORT]})")
    tables.append(inputs)
    tables.append(_plain("provenance", ["", "value"], _provenance_rows(cert)))
    return tables


def _md(s: Any) -> str:
    """A markdown table cell: ``|`` escaped, newlines as spaces (GitHub-flavoured markdown)."""
    return str(s).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _md_table(columns: list[str], rows: list[tuple], align: str | None = None) -> list[str]:
    out = ["| " + " | ".join(_md(c) for c in columns) + " |", align or "|" + "|".join("---" for _ in columns) + "|"]
    out += ["| " + " | ".join(_md(v) for v in r) + " |" for r in rows]
    return out


def certificate_markdown(cert: Mapping) -> str:
    """The certificate as markdown, for a review comment, nothing truncated: parameters, verdict
    with its counts, property table (required ones marked *; the baseline's column when present),
    intervals, witnesses and reasons, kernel diagnostics, baseline, Theorem 2.3, gradient descent
    with checkpoints, inputs and provenance."""
    p = cert["parameters"]
    req = set(cert.get("required", []))
    b = cert.get("baseline")
    base = (b.get("properties") or {}) if isinstance(b, Mapping) else None
    counts = verdict_counts(cert)
    lines = [f"### qrcheck certificate: n={p['n']}, S={p['S']}, m={p['m']}, seed={p['seed']}, "
             f"profile={_md(p['profile'])}", "", f"**Verdict:** {_md(cert['verdict'])}", "",
             "Required properties: " + (", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items()) or "none")
             + ".", "",
             f"Regime: case ({_md(cert['regime']['case'])}), Theorem 2.3 "
             f"{'applies' if cert['regime']['theorem_applies'] else 'does not apply'}. "
             "Required properties are marked *.", ""]
    lines += [f"- {' '.join(str(s).split())}" for s in diagnostics_lines(cert)] + ([""] if diagnostics_lines(cert) else [])
    lines += ["**Parameters**", ""] + _md_table(["", "value"], parameter_rows(cert)) + [""]
    rows = []
    for eq, r in cert["properties"].items():
        row = (f"({eq}){'*' if eq in req else ''}", r.get("name", ""), fmt(r["statistic"]),
               r.get("sense", ""), fmt(r["threshold"]), fmt(r.get("lower")), fmt(r.get("upper")),
               f"**{r['status']}**" if r["status"] == "violated" else r["status"])
        rows.append(row + ((_baseline_cell(base.get(eq)),) if base is not None else ()))
    cols = ["eq", "property", "statistic", "", "threshold", "lower", "upper", "status"]
    lines += _md_table(cols + (["vs random"] if base is not None else []), rows,
                       "|--:|---|--:|:-:|--:|--:|--:|---|" + ("---|" if base is not None else ""))
    lines += ["", "**Intervals, witnesses, reasons**", ""]
    lines += _md_table(["eq", "[lower, upper]", "witness", "reason"], property_detail_rows(cert, full=True))
    if diagnostic_rows(cert):
        lines += ["", "**Kernel diagnostics**", ""]
        lines += _md_table(["", "value", "random: median [min, max]"], diagnostic_rows(cert))
    if baseline_rows(cert):
        lines += ["", f"**Random baseline** (K = {b.get('K')}; {_md(b.get('rule', ''))})", ""]
        lines += _md_table(BASELINE_COLUMNS_MD, baseline_rows(cert, quartiles=True))
    if regime_rows(cert):
        lines += ["", "**Theorem 2.3** (hypotheses; bounds predicted against observed)", ""]
        lines += _md_table(["eq", "condition / bound", "value", "", "bound", "slack", ""], regime_rows(cert))
    lines += ["", "**Gradient descent (12)**", ""] + _md_table(["", "value"], _gd_rows(cert["gd"], full=True))
    if checkpoint_rows(cert):
        lines += ["", "**Checkpoints** (--track-every)", ""] + _md_table(CHECKPOINT_COLUMNS, checkpoint_rows(cert))
    lines += ["", "**Inputs** (sha256 of C-order little-endian float64 bytes)", ""]
    lines += _md_table(["array", "shape", "source", "sha256"],
                       [(k, s, src, f"`{d}`") for k, s, src, d in
                        ((k, "x".join(str(x) for x in v["shape"]), v["source"], v["sha256"])
                         for k, v in cert["inputs"].items() if isinstance(v, Mapping) and "sha256" in v)])
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


# ---- reviewer-grade reports (issue 14): baseline, diagnostics, every parameter ----------------
# the registry's property names as tables show them: words of at most 10 letters, so that an
# 80-column table wraps a name between words, never inside one
DISPLAY_NAMES = {"almost_orthogonality": "almost orthogonal", "uniform_norm": "uniform norm",
                 "dual_sigma_min": "dual sigma_min", "rows_of_W0_large": "rows of W0 large",
                 "entries_small": "entries small", "z0_many_large_entries": "many large z0 entries",
                 "regularity": "regularity", "data_orthogonal_to_init": "data orth. to init",
                 "output_order": "order of f0", "good_behaviour": "good behaviour",
                 "ntk_second_layer": "NTK second layer", "ntk_first_layer": "NTK first layer"}


def display_name(name: Any) -> str:
    """A property's (or status's) name for tables: :data:`DISPLAY_NAMES`, else spaces for
    underscores, so narrow tables wrap it between words."""
    return DISPLAY_NAMES.get(str(name), str(name).replace("_", " "))


def _baseline_cell(c: Mapping | None) -> str:
    """The table's baseline cell of one property: ratio to the baseline median, its quantile among
    the K instances and FAR (far outside on the failing side) or far (on the other side)."""
    if not c or c.get("median") is None:
        return "-"
    if c.get("value") is None:
        return f"med {fmt(c['median'])}"
    r = c.get("ratio")
    ratio = "x-" if r is None else (f"x{r:.2g}" if 1e-2 <= abs(r) < 100 or r == 0 else f"x{r:.0e}")
    q = "" if c.get("quantile") is None else f" q{c['quantile']:.2g}"
    mark = " FAR" if c.get("failing") else (" far" if c.get("far") else "")
    return f"{ratio}{q}{mark}"


def _vs(diag_b: Mapping | None, key: str) -> str:
    c = (diag_b or {}).get(key) or {}
    return f" (random {fmt(c['median'])})" if c.get("median") is not None else ""


def diagnostics_lines(cert: Mapping) -> list[str]:
    """The footer's sentences: the data set, X's rank and norm, the limit kernels, H0 (and G0)
    with their stable steps against the rates, why GD stopped, and the baseline's legend."""
    lines: list[str] = []
    ds = cert.get("dataset")
    if isinstance(ds, Mapping):
        lines.append(f"data: {ds.get('name')} ({ds.get('package')} {ds.get('version')}), m = {ds.get('m')} of "
                     f"{ds.get('n_points')} points, {ds.get('normalization')}")
    d = cert.get("diagnostics")
    b = cert.get("baseline") if isinstance(cert.get("baseline"), Mapping) else None
    bd = (b or {}).get("diagnostics")
    if isinstance(d, Mapping):
        X = d.get("X") or {}
        rank = f"rank {X.get('rank')}" + ("" if X.get("full_rank") else f" < min(n, m) = {min(X.get('n', 0), X.get('m', 0))}")
        lines.append(f"X: {rank}{_vs(bd, 'rank')}, ||X|| = {fmt(X.get('norm'))}{_vs(bd, 'norm')}; "
                     f"lambda_min(H^w(X)) = {fmt(X.get('lambda_min_Hw'))}{_vs(bd, 'lambda_min_Hw')}, "
                     f"lambda_min(H^z(X)) = {fmt(X.get('lambda_min_Hz'))}{_vs(bd, 'lambda_min_Hz')}")
        for name, key in (("H0", "H0"), ("G0", "G0")):
            L = d.get(key)
            if not isinstance(L, Mapping):
                continue
            rate = "eta_w" if key == "H0" else "eta_z"
            verdict = (f"{rate} = {fmt(L.get('eta'))} EXCEEDS it; try {L.get('flag')} {L.get('suggested_eta'):.2g}"
                       if L.get("exceeds_stable_step") and L.get("suggested_eta") else
                       f"{rate} = {fmt(L.get('eta'))} is below it")
            lines.append(f"{name}: lambda_min = {fmt(L.get('lambda_min'))}{_vs(bd, 'lambda_min_' + key) if key == 'H0' else ''}, "
                         f"lambda_max = {fmt(L.get('lambda_max'))}{_vs(bd, 'lambda_max_' + key) if key == 'H0' else ''}; "
                         f"stable step 2/lambda_max = {fmt(L.get('stable_step'))}: {verdict}")
        stop = d.get("gd_stop")
        if isinstance(stop, Mapping) and stop.get("words"):
            lines.append(f"GD: {stop['words']}")
    if b:
        lines.append(f"baseline: K = {b.get('K')} random draws of the same (n, S, m, z_dist); column: statistic / "
                     "baseline median, its quantile q among them; FAR: far outside on the failing side "
                     "(named in the verdict), far: on the holding side")
    return lines


def parameter_rows(cert: Mapping) -> list[tuple[str, str]]:
    """Every parameter of the run (``parameters``, the data set, the baseline) as (name, value)."""
    rows = [(k, str(v)) for k, v in cert["parameters"].items()]
    ds = cert.get("dataset")
    if isinstance(ds, Mapping):
        rows += [("data set source", f"{ds.get('name')} ({ds.get('package')} {ds.get('version')})"),
                 ("dataset points", f"{ds.get('m')} of {ds.get('n_points')}" + (" (subsample)" if ds.get("subsample") else "")),
                 ("center", str(ds.get("center"))), ("normalisation", str(ds.get("normalization")))]
        if ds.get("labels"):
            rows.append(("dataset labels", str(ds["labels"])))
    b = cert.get("baseline")
    if isinstance(b, Mapping):
        rows.append(("baseline seeds", f"K = {b.get('K')} ({b.get('stream')}): {', '.join(str(s) for s in b.get('seeds', [])[:4])}"
                     + (" ..." if len(b.get("seeds", [])) > 4 else "")))
    return rows


def verdict_counts(cert: Mapping) -> dict[str, int]:
    """How the required properties hold: status -> count (CONTRACT's verdict counts)."""
    req = list(cert.get("required", []))
    counts: dict[str, int] = {}
    for e in req:
        s = cert["properties"].get(e, {}).get("status", "?")
        counts[s] = counts.get(s, 0) + 1
    return counts


def _witness_summary(w: Any, full: bool = False) -> str:
    """A witness in one line: lists as their length and first entries (all of them with ``full``)."""
    if not isinstance(w, Mapping) or not w:
        return "-"
    parts = []
    for k, v in w.items():
        if isinstance(v, list):
            if full or len(v) <= 6:
                parts.append(f"{k} = [{', '.join(fmt(x) for x in v)}]")
            else:
                parts.append(f"{k}: {len(v)} entries [{', '.join(fmt(x) for x in v[:4])}, ..., {fmt(v[-1])}]")
        elif isinstance(v, Mapping):
            parts.append(f"{k}: {{{', '.join(v)}}}")
        else:
            parts.append(f"{k} = {fmt(v) if not full else v}")
    return "; ".join(parts)


def _interval(r: Mapping) -> str:
    lo, hi = r.get("lower"), r.get("upper")
    if lo is None and hi is None:
        return "-"
    return f"[{fmt(lo)}, {fmt(hi)}]"


def property_detail_rows(cert: Mapping, full: bool = False) -> list[tuple[str, str, str, str]]:
    """(eq, interval [lower, upper], witness summary, reason: the details' reason or the method)."""
    rows = []
    for eq, r in cert["properties"].items():
        det = r.get("details") or {}
        reason = det.get("reason") if isinstance(det, Mapping) and det.get("reason") else r.get("method", "")
        rows.append((f"({eq})", _interval(r), _witness_summary(r.get("witness"), full), str(reason)))
    return rows


def regime_rows(cert: Mapping) -> list[tuple[str, str, str, str, str, str, str]]:
    """Theorem 2.3's hypotheses and the proof's bounds, predicted against observed:
    (eq, statement, value or observed, sense, bound, log-slack, holds)."""
    reg = cert.get("regime") or {}
    rows = []
    for section in ("conditions", "bounds"):
        for k, b in (reg.get(section) or {}).items():
            if not isinstance(b, Mapping):
                continue
            val = b.get("value", b.get("observed"))
            holds = b.get("holds")
            rows.append((str(b.get("equation", k)), str(b.get("statement", k)), fmt(val), str(b.get("sense", "")),
                         fmt(b.get("bound")), slack(b.get("log_slack")),
                         "-" if holds is None else ("ok" if holds else "fails")
                         + ("" if section == "conditions" or b.get("premise", True) else " (premise off)")))
    return rows


def checkpoint_rows(cert: Mapping) -> list[tuple[str, ...]]:
    """The ``--track-every`` checkpoints: t, ||e_t||, lambda_min(H_t), lambda_min(G_t), |D|, distances."""
    cps = (cert.get("gd") or {}).get("checkpoints") or []
    return [tuple(fmt(c.get(k)) for k in ("t", "error", "lambda_min_H", "lambda_min_G", "D", "W_distance", "z_distance"))
            for c in cps if isinstance(c, Mapping)]


CHECKPOINT_COLUMNS = ["t", "||e_t||", "lambda_min(H_t)", "lambda_min(G_t)", "|D|", "||W_t-W_0||_F", "||z_t-z_0||"]


def diagnostic_rows(cert: Mapping) -> list[tuple[str, str, str]]:
    """(quantity, value, random baseline median [min, max]) of the kernel diagnostics."""
    d = cert.get("diagnostics")
    if not isinstance(d, Mapping):
        return []
    bd = ((cert.get("baseline") or {}).get("diagnostics") or {}) if isinstance(cert.get("baseline"), Mapping) else {}

    def base(key):
        c = bd.get(key) or {}
        return "-" if c.get("median") is None else f"{fmt(c['median'])} [{fmt(c.get('min'))}, {fmt(c.get('max'))}]"

    X = d.get("X") or {}
    rows = [("rank X", f"{X.get('rank')} of min(n, m) = {min(X.get('n', 0), X.get('m', 0))}", base("rank")),
            ("||X||", fmt(X.get("norm")), base("norm")),
            ("lambda_min(H^w(X))", fmt(X.get("lambda_min_Hw")), base("lambda_min_Hw")),
            ("lambda_min(H^z(X))", fmt(X.get("lambda_min_Hz")), base("lambda_min_Hz"))]
    for key in ("H0", "G0"):
        L = d.get(key)
        if not isinstance(L, Mapping):
            continue
        rows += [(f"lambda_min({key})", fmt(L.get("lambda_min")), base(f"lambda_min_{key}") if key == "H0" else "-"),
                 (f"lambda_max({key})", fmt(L.get("lambda_max")), base(f"lambda_max_{key}") if key == "H0" else "-"),
                 (f"stable step 2/lambda_max({key})", fmt(L.get("stable_step")), "-"),
                 (f"{L.get('flag')} (given)", fmt(L.get("eta")) + (" EXCEEDS the stable step" if L.get("exceeds_stable_step") else ""), "-"),
                 (f"suggested {L.get('flag')} (1/lambda_max)", fmt(L.get("suggested_eta")), "-"),
                 ("predicted steps to tol (given, suggested)",
                  f"{fmt(L.get('predicted_steps'))}, {fmt(L.get('predicted_steps_at_suggested'))}", "-")]
    stop = d.get("gd_stop")
    if isinstance(stop, Mapping):
        rows.append(("GD stop", str(stop.get("words", "")), "-"))
    for note in d.get("notes") or []:
        rows.append(("note", str(note), "-"))
    return rows


def baseline_rows(cert: Mapping, quartiles: bool = False) -> list[tuple[str, ...]]:
    """(eq, this draw, baseline median, [q1, q3] (with ``quartiles``), min, max, quantile, ratio,
    far) per property."""
    b = cert.get("baseline")
    if not isinstance(b, Mapping):
        return []
    rows = []
    for eq, c in (b.get("properties") or {}).items():
        far = ("FAR " if c.get("failing") else "") + (str(c.get("far")) if c.get("far") else "")
        q = (f"[{fmt(c.get('q1'))}, {fmt(c.get('q3'))}]",) if quartiles else ()
        rows.append((f"({eq})", fmt(c.get("value")), fmt(c.get("median")), *q, fmt(c.get("min")), fmt(c.get("max")),
                     fmt(c.get("quantile")), fmt(c.get("ratio")), far.strip() or "-"))
    return rows


BASELINE_COLUMNS = ["eq", "this draw", "median", "min", "max", "q", "ratio", "far"]
BASELINE_COLUMNS_MD = ["eq", "this draw", "median", "[q1, q3]", "min", "max", "quantile", "ratio", "far"]


class LineProgress:
    """Progress for logs, pipes and CI (stderr not a terminal): plain lines, at most one every
    ``interval`` seconds (a ``force``d line always), through ``write(text)``. Nothing is written in
    the first ``interval`` seconds unless forced, so a quick command (or one that fails on bad input
    with its one ``error:`` line) stays silent. :meth:`gd` reports gradient descent's step, error and
    rate of progress (steps per second, and the error's relative change since the previous line)."""

    def __init__(self, write, interval: float = 5.0, clock=None):
        import time

        self.write = write
        self.interval = float(interval)
        self.clock = clock or time.monotonic
        self._last = self.clock()
        self._gd: tuple[float, int, float] | None = None
        self._gd0: tuple[float, float] | None = None

    def line(self, text: str, force: bool = False) -> bool:
        now = self.clock()
        if not force and now - self._last < self.interval:
            return False
        self._last = now
        self.write(text)
        return True

    def gd(self, t: int, e: float) -> bool:
        now = self.clock()
        if self._gd0 is None:
            self._gd0 = (now, e)
            self._gd = (now, t, e)
            return False
        if now - self._last < self.interval:
            return False
        t_prev, s_prev, e_prev = self._gd
        rate = (t - s_prev) / (now - t_prev) if now > t_prev else float("nan")
        change = (e - e_prev) / e_prev * 100 if e_prev else float("nan")
        self._gd = (now, t, e)
        return self.line(f"gradient descent: t={t} ||e_t||={e:.6g} ({rate:.0f} steps/s; ||e|| {change:+.3g}% since "
                         f"the last line; {now - self._gd0[0]:.0f} s)", force=True)
