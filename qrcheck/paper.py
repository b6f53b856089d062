"""The paper's Section 4: its Tables 1, 2 and local experiment (from ``qrcheck/data/paper_tables.json``
only), the grids that reproduce them and the comparison of a reproduction with the printed values.

Rates: :mod:`qrcheck.rates` (``stated``: the text's rule; ``implied``: what the printed Table 1 implies,
docs/errata.md erratum 12). Runs, summaries and figures: :mod:`qrcheck.sweep`.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Sequence

from . import InputError
from .certificate import write_atomic
from .rates import RULES, paper_eta_w
from .sweep import (QUANTITIES, QUANTITY_LABELS, CellStats, Outputs, Range, RunRow, RunSpec, format_range,
                    plan_grid, rebuild_outputs)
from .verify import VerifyConfig


@dataclass(frozen=True)
class PaperValue:
    """A published ``min-max; mean`` exactly as printed: ``tol_*`` is half a unit of the last digit
    printed, so ``x`` is inside the printed range iff ``min - tol_min <= x <= max + tol_max``."""

    min: float
    max: float
    mean: float
    tol_min: float
    tol_max: float
    printed: str

    @staticmethod
    def parse(entry: dict) -> "PaperValue":
        def half_unit(s: str) -> float:
            exp = Decimal(s).as_tuple().exponent
            return 0.5 * 10.0 ** int(exp)

        return PaperValue(float(entry["min"]), float(entry["max"]), float(entry["mean"]),
                          half_unit(entry["min"]), half_unit(entry["max"]),
                          f"{entry['min']}-{entry['max']}; {entry['mean']}")

    def contains(self, x: float) -> bool:
        return self.min - self.tol_min <= x <= self.max + self.tol_max


@dataclass(frozen=True)
class PaperRow:
    """One published row: (S, m), the values of :data:`QUANTITIES` (None where the paper is blank),
    the number of runs behind it and where it was transcribed from."""

    S: int
    m: int
    values: dict
    runs: int
    source: str


@dataclass(frozen=True)
class PaperTable:
    name: str
    caption: str
    rows: tuple[PaperRow, ...]


@dataclass(frozen=True)
class PaperLocalRow:
    m: int
    eta_w: float
    runs: int
    converged: int


def paper_data() -> dict:
    """qrcheck/data/paper_tables.json (the paper's Tables 1, 2 and the local experiment)."""
    text = resources.files("qrcheck").joinpath("data/paper_tables.json").read_text(encoding="utf-8")
    return json.loads(text)


def paper_table(name: str) -> PaperTable:
    """Table 1 or 2 of the paper, as shipped in ``qrcheck/data/paper_tables.json``."""
    data = paper_data()
    t = data[name]
    rows = []
    for r in t["rows"]:
        src = r["source"]
        rows.append(PaperRow(S=int(r["S"]), m=int(r["m"]),
                             values={q: None if r.get(q) is None else PaperValue.parse(r[q]) for q in QUANTITIES},
                             runs=int(r.get("runs", t.get("runs_per_cell", 0))),
                             source=f"{data['paper']['author']}, {src['table']}, row {src['row']} "
                                    f"(seed text line {src['seed_line']})"))
    return PaperTable(name, t["caption"], tuple(rows))


def paper_local() -> tuple[PaperLocalRow, ...]:
    return tuple(PaperLocalRow(int(r["m"]), float(r["eta_w"]), int(r["runs"]), int(r["converged"]))
                 for r in paper_data()["local"]["rows"])


GRIDS = ("table1", "table2", "local")


def reproduce_plan(which: str, template: VerifyConfig, *, reps: int | None = None, quick: bool = False,
                   base_seed: int = 0, rates: str = "stated") -> tuple[RunSpec, ...]:
    """The paper's Section 4 grids, n = 100, Gaussian labels unless said:

    - ``table1``: S in {100, 200, 500, 1000}, m = 100, 200, ..., 1000 (Table 1's rows), 10 reps,
      eta_w by :func:`qrcheck.rates.paper_eta_w` (``rates="stated"``, the text's rule, or
      ``rates="implied"``, what the printed T imply); ``--quick``: S = 100, m in {100, 200}, 2 reps.
    - ``table2``: S = 100, m = 1000, ..., 5000 with 10, 10, 6, 3, 1 reps (the paper's counts);
      ``--quick``: m = 1000, 1 rep.
    - ``local``: S = 100, local labels, m = 1000 at eta_w = 1e-3 (20 reps) and m = 2000 at
      eta_w = 1e-4 (10 reps); ``--quick``: m = 1000, 2 reps.

    ``reps`` replaces every count. GD always runs (``force``), as in the paper; the certificate's
    verdict still says which required properties fail. eta_z = 0 and tol = 1e-3 as in the paper.
    """
    if which not in GRIDS:
        raise InputError(f"reproduce: choose one of {', '.join(GRIDS)}, got {which!r}")
    if reps is not None and reps < 1:
        raise InputError(f"--reps must be >= 1, got {reps}")
    if rates not in RULES:
        raise InputError(f"--paper-rates must be one of {', '.join(RULES)}, got {rates!r}")
    base = dataclasses.replace(template, n=100, labels="gaussian", eta_z=0.0, tol=1e-3, force=True, no_gd=False)
    if which == "table1":
        S_values, m_values = ((100,), (100, 200)) if quick else ((100, 200, 500, 1000), tuple(range(100, 1001, 100)))
        return plan_grid(base, S_values, m_values, reps or (2 if quick else 10), base_seed,
                         eta_w=lambda S, m: paper_eta_w(S, m, rates))
    if which == "table2":
        counts = {1000: 1} if quick else {r.m: r.runs for r in paper_table("table2").rows}
        specs: list[RunSpec] = []
        for m, k in counts.items():
            specs += plan_grid(dataclasses.replace(base, eta_w=1e-3), (100,), (m,), reps or k, base_seed)
        return tuple(specs)
    local = dataclasses.replace(base, labels="local")
    specs = []
    for row in paper_local()[:1] if quick else paper_local():
        specs += plan_grid(dataclasses.replace(local, eta_w=row.eta_w), (100,), (row.m,),
                           reps or (2 if quick else row.runs), base_seed)
    return tuple(specs)


@dataclass(frozen=True)
class CellComparison:
    """Our mean of one quantity in one (S, m) cell against the paper's printed range.

    ``in_range`` is None when either side has no value; ``note`` gives reasons to read it with care."""

    S: int
    m: int
    quantity: str
    paper: PaperValue | None
    ours: Range | None
    in_range: bool | None
    note: str


def compare(cells: Sequence[CellStats], table: PaperTable) -> tuple[CellComparison, ...]:
    """Per published cell and quantity: is our mean (over the converged runs) inside the paper's
    min-max, to the precision the paper prints? Cells we did not run are left out. For Table 1, a cell
    run at another rate than ``paper_eta_w(S, m, "implied")`` says so in its note."""
    ours = {(c.S, c.m): c for c in cells}
    out = []
    for row in table.rows:
        c = ours.get((row.S, row.m))
        if c is None:
            continue
        for q in QUANTITIES:
            pv, rv = row.values[q], c.quantity(q)
            notes = []
            if pv is None:
                notes.append("blank in the paper")
            if rv is None:
                notes.append("no converged run")
            elif rv.count < row.runs:
                notes.append(f"ours from {rv.count} run(s), the paper's from {row.runs}")
            if c.gd_ran and c.converged < c.gd_ran:
                notes.append(f"{c.gd_ran - c.converged} of our runs did not converge")
            if c.failed:
                notes.append(f"{c.failed} run(s) failed")
            implied = paper_eta_w(row.S, row.m, "implied")
            if table.name == "table1" and c.eta_w != (implied,):
                notes.append(f"ran at eta_w = {', '.join(f'{e:g}' for e in c.eta_w)}; the paper's printed T "
                             f"imply eta_w = {implied:g} (--rates implied)")
            ok = None if pv is None or rv is None else pv.contains(rv.mean)
            out.append(CellComparison(row.S, row.m, q, pv, rv, ok, "; ".join(notes)))
    return tuple(out)


@dataclass(frozen=True)
class LocalComparison:
    """The local-labels experiment: convergence counts, ours against the paper's."""

    m: int
    eta_w: float
    paper_runs: int
    paper_converged: int
    runs: int
    converged: int
    same_majority: bool | None


def compare_local(rows: Sequence[RunRow]) -> tuple[LocalComparison, ...]:
    """Per m of the paper's local experiment: how many of our runs converged, and whether the majority
    outcome (converged in more than half of the runs, or not) is the paper's."""
    out = []
    for pr in paper_local():
        rs = [r for r in rows if r.m == pr.m and r.labels == "local" and r.S == 100 and r.gd_status is not None]
        conv = sum(r.gd_status == "converged" for r in rs)
        same = None if not rs else (2 * conv > len(rs)) == (2 * pr.converged > pr.runs)
        out.append(LocalComparison(pr.m, pr.eta_w, pr.runs, pr.converged, len(rs), conv, same))
    return tuple(out)


def comparison_markdown(which: str, comps: Sequence[CellComparison], local: Sequence[LocalComparison]) -> str:
    """``comparison.md``: side by side with the paper; per cell whether our mean is in its range."""
    if which == "local":
        lines = ["Local labels (n = S = 100): converged runs, ours against the paper's Section 4.", "",
                 "| m | eta_w | paper converged | ours converged | same majority outcome |",
                 "|---:|---:|---:|---:|---|"]
        for c in local:
            verdict = "-" if c.same_majority is None else ("yes" if c.same_majority else "NO")
            lines.append(f"| {c.m} | {c.eta_w:g} | {c.paper_converged}/{c.paper_runs} | {c.converged}/{c.runs} "
                         f"| {verdict} |")
        return "\n".join(lines) + "\n"
    table = paper_table(which)
    inside = sum(c.in_range is True for c in comps)
    judged = sum(c.in_range is not None for c in comps)
    lines = [f"Our means against {table.caption.split(':')[0]} of the paper (printed `min-max; mean`). "
             "A mean is in range when it lies within the printed min-max, widened by half a unit of the "
             "last printed digit.", "",
             f"In range: {inside} of {judged} judged (cell, quantity) pairs.", "",
             "| S | m | quantity | paper | ours | in range | note |", "|---:|---:|---|---|---|---|---|"]
    for c in comps:
        ours = "-" if c.ours is None else f"{format_range(c.ours, c.quantity)} (n={c.ours.count})"
        verdict = "-" if c.in_range is None else ("yes" if c.in_range else "NO")
        lines.append(f"| {c.S} | {c.m} | {_md_cell(QUANTITY_LABELS[c.quantity])} | "
                     f"{'-' if c.paper is None else _md_cell(c.paper.printed)} | {ours} | {verdict} | {_md_cell(c.note)} |")
    return "\n".join(lines) + "\n"


def _md_cell(s: object) -> str:
    """A markdown table cell: ``|`` escaped (labels such as |D| and ||W_T - W_0||_F), one line."""
    return str(s).replace("|", "\\|").replace("\n", " ")


def comparison_csv(comps: Sequence[CellComparison]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["S", "m", "quantity", "paper_min", "paper_max", "paper_mean", "ours_min", "ours_max", "ours_mean",
                "ours_runs", "in_range", "note"])
    for c in comps:
        p, o = c.paper, c.ours
        w.writerow([c.S, c.m, c.quantity, *(("", "", "") if p is None else (p.min, p.max, p.mean)),
                    *(("", "", "", "") if o is None else (repr(o.min), repr(o.max), repr(o.mean), o.count)),
                    "" if c.in_range is None else c.in_range, c.note])
    return buf.getvalue()


@dataclass(frozen=True)
class Reproduction:
    outputs: Outputs
    comparisons: tuple[CellComparison, ...]
    local: tuple[LocalComparison, ...]
    comparison_md: Path


def write_comparison(which: str, out_dir: str | Path, *, figures: bool = True) -> Reproduction:
    """Rebuild the sweep outputs (figures overlaid with the paper) and write ``comparison.md`` /
    ``comparison.csv`` for ``which`` in ``out_dir``."""
    out_dir = Path(out_dir)
    table = None if which == "local" else paper_table(which)
    outputs = rebuild_outputs(out_dir, figures=figures, paper=table)
    comps = () if table is None else compare(outputs.cells, table)
    local = compare_local(outputs.rows) if which == "local" else ()
    md = out_dir / "comparison.md"
    write_atomic(md, comparison_markdown(which, comps, local))
    if comps:
        write_atomic(out_dir / "comparison.csv", comparison_csv(comps))
    return Reproduction(outputs, comps, local, md)
