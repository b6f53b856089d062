"""The ``qrcheck`` command line: thin typer wrappers over the library functions.

Results go to stdout (rich tables), progress and errors to stderr. Exit codes follow CONTRACT:
0 success, 1 a result that fails (a violated required property, GD not converged), 2 bad input or
usage (one line on stderr, no traceback, nothing written at --out).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.markup import escape

from . import InputError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Check Razborov's quasirandom properties (19)-(30) on actual numbers.",
                  context_settings={"help_option_names": ["-h", "--help"]})


def _print_version(value: bool) -> None:
    if value:
        from . import __version__

        print(f"qrcheck {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", "-V", callback=_print_version, is_eager=True,
                                                help="Print qrcheck's version and exit.")] = False) -> None:
    """Check Razborov's quasirandom properties (19)-(30) on actual numbers."""


class _Console(Console):
    """A rich Console that survives a closed pipe: on EPIPE its stream is pointed at /dev/null and
    the command goes on (rich's default exits with 1, which CONTRACT reserves for 'violated')."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        _to_devnull(sys.stderr if self.stderr else sys.stdout)


def _to_devnull(stream) -> None:
    """Point ``stream``'s file descriptor at /dev/null (after EPIPE: later writes and the final
    flush succeed silently)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


out = _Console()
err = _Console(stderr=True)


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived: unwinds like KeyboardInterrupt (temporary files are removed, no
    half-written output), then ``main`` says one line and exits with 128 + the signal number."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _on_signal(signum, frame) -> None:
    raise Interrupted(signum)

# options shared by verify, sweep and reproduce (typer's reusable Annotated aliases)
ZDistOpt = Annotated[str, typer.Option("--z-dist", help="rademacher or gaussian.")]
ProfileOpt = Annotated[str, typer.Option(help="paper, sharp, or a TOML profile file.")]
EtaWOpt = Annotated[float, typer.Option("--eta-w", help="First-layer rate.")]
EtaZOpt = Annotated[float, typer.Option("--eta-z", help="Second-layer rate.")]
PaperRatesOpt = Annotated[Optional[str], typer.Option(
    "--paper-rates", metavar="stated|implied",
    help="Section 4's learning rates instead of --eta-w/--eta-z (qrcheck.rates.paper_rates): stated, the "
         "text's rule (1e-3; 5e-4 for S=500 and 2e-4 for S=1000 when m>=900), or implied, the one the "
         "printed Table 1 implies (also 5e-4 for S=1000, m<=800; erratum 12). Alone: stated.")]
LabelsOpt = Annotated[str, typer.Option(help="gaussian, low, high, local, or dataset (the data set's targets, with --dataset).")]
TolOpt = Annotated[float, typer.Option(help="Success when ||e_t|| < tol.")]
MaxStepsOpt = Annotated[int, typer.Option("--max-steps", help="Step limit of GD.")]
NoGdOpt = Annotated[bool, typer.Option("--no-gd", help="Check the properties only.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Run GD even if a required property fails.")]
RequireOpt = Annotated[str, typer.Option(help="regime, all or none: which properties must hold.")]
EffortOpt = Annotated[str, typer.Option("--effort", help="Search effort of (20), (21), (30): low, default or high (docs/search.md).")]
SubsetSamplesOpt = Annotated[Optional[int], typer.Option("--subset-samples", help="Random subsets per size in (20), (21), (30) (overrides --effort).")]
RestartsOpt = Annotated[Optional[int], typer.Option(help="Starts of each adversarial search (overrides --effort).")]
IterationsOpt = Annotated[Optional[int], typer.Option(help="Steps per search start (overrides --effort).")]
TimeBudgetOpt = Annotated[Optional[float], typer.Option("--time-budget", help="Seconds per subset search.")]
WorkersOpt = Annotated[Optional[int], typer.Option("--workers", help="Local worker processes (default: cores).")]
SchedulerOpt = Annotated[Optional[str], typer.Option("--scheduler", help="Address of a running dask.distributed scheduler.")]
FiguresOpt = Annotated[bool, typer.Option("--figures/--no-figures", help="Draw figures/ (needs matplotlib).")]
# issue 14: real data and the random baseline
DatasetOpt = Annotated[Optional[str], typer.Option("--dataset", help="X from a data set bundled with scikit-learn: digits, iris, wine or breast_cancer (m points subsampled from --seed; docs/real-data.md).")]
CenterOpt = Annotated[bool, typer.Option("--center", help="With --dataset: subtract the mean of the chosen points before normalising.")]
BaselineOpt = Annotated[int, typer.Option("--baseline", help="Also check K random draws of the same (n, S, m, z-dist) and compare every property with them (0: none).")]

def _one_line(message: str) -> str:
    return " ".join(str(message).split())


def fail(message: str) -> typer.Exit:
    """Print one line on stderr and exit with 2."""
    err.print(f"error: {escape(_one_line(message))}", style="red", highlight=False, soft_wrap=True)
    return typer.Exit(2)


def _check_outputs(out_path: Optional[Path], export_graph: Optional[Path], embed_arrays: bool,
                   inputs: dict) -> dict:
    """Every file verify will write, checked before any work (docs/robustness.md): each is absent or
    a regular file we may write (never a FIFO, device, folder or read-only file), no two outputs
    are one file, no output is an input, and ``--embed-arrays`` replaces only the certificate's own
    ``CERT.arrays.npz``. Returns flag -> the path to write (symbolic links followed)."""
    from .certificate.io import arrays_path, check_arrays_target, check_distinct, check_output

    if embed_arrays and out_path is None:
        raise InputError("--embed-arrays needs --out (the arrays go beside the certificate)")
    targets = {}
    if out_path is not None:
        targets["--out"] = check_output(out_path, "--out")
    if export_graph is not None:
        _check_graph_path(export_graph)
        targets["--export-graph"] = check_output(export_graph, "--export-graph")
    outputs = {"--out": out_path, "--export-graph": export_graph,
               "--embed-arrays": arrays_path(targets["--out"]) if embed_arrays else None}
    check_distinct(outputs, inputs)
    if embed_arrays:
        check_arrays_target(targets["--out"])
    return targets


@app.command()
def verify(
    n: Annotated[Optional[int], typer.Option("--n", help="Input dimension (read off --X/--W0 when given).")] = None,
    S: Annotated[Optional[int], typer.Option("--S", help="Number of neurons.")] = None,
    m: Annotated[Optional[int], typer.Option("--m", help="Number of data points.")] = None,
    X: Annotated[Optional[Path], typer.Option("--X", help="X.npy, n x m, unit columns.")] = None,
    W0: Annotated[Optional[Path], typer.Option("--W0", help="W0.npy, S x n.")] = None,
    z0: Annotated[Optional[Path], typer.Option("--z0", help="z0.npy, length S.")] = None,
    y: Annotated[Optional[Path], typer.Option("--y", help="y.npy, length m.")] = None,
    seed: Annotated[int, typer.Option(help="Base seed of the X, W0, z0, y streams.")] = 0,
    z_dist: ZDistOpt = "rademacher",
    profile: ProfileOpt = "paper",
    eta_w: EtaWOpt = 1e-3,
    eta_z: EtaZOpt = 0.0,
    paper_rates: PaperRatesOpt = None,
    labels: LabelsOpt = "gaussian",
    tol: TolOpt = 1e-3,
    max_steps: MaxStepsOpt = 100_000,
    no_gd: NoGdOpt = False,
    force: ForceOpt = False,
    require: RequireOpt = "regime",
    normalize: Annotated[bool, typer.Option("--normalize", help="Rescale loaded X columns to unit norm.")] = False,
    dataset: DatasetOpt = None,
    center: CenterOpt = False,
    baseline: BaselineOpt = 0,
    effort: EffortOpt = "default",
    subset_samples: SubsetSamplesOpt = None,
    restarts: RestartsOpt = None,
    iterations: IterationsOpt = None,
    time_budget: TimeBudgetOpt = None,
    out_path: Annotated[Optional[Path], typer.Option("--out", help="Write the certificate here.")] = None,
    embed_arrays: Annotated[bool, typer.Option("--embed-arrays", help="Also write X, W0, z0, y to CERT.arrays.npz beside --out (digest recorded), so audit needs no regeneration.")] = False,
    track_every: Annotated[int, typer.Option("--track-every", help="Record lambda_min(H_t) every k steps of GD (0: never).")] = 0,
    export_graph: Annotated[Optional[Path], typer.Option("--export-graph", help="Write the activation-change set D as a bipartite GraphML graph (needs networkx).")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 unless every required property is certified.")] = False,
) -> None:
    """Sample or load X, W0, z0, y; check (19)-(30); run gradient descent (12); write the certificate."""
    if paper_rates is not None and _given_on_command_line("eta_w", "eta_z"):
        raise fail("--paper-rates sets eta_w and eta_z: pass either --paper-rates or --eta-w/--eta-z")
    from .draw import DEFAULT_M, DEFAULT_N, DEFAULT_S, check_sizes
    from .search import effort_from

    given = {"n": n, "S": S, "m": m}
    files = any(v is not None for v in (X, W0, z0, y))
    defaults = {"n": DEFAULT_N, "S": DEFAULT_S, "m": DEFAULT_M}
    dims = {k: (v if v is not None or files else defaults[k]) for k, v in given.items()}
    if dataset is not None:  # n is the data's, m defaults to every point
        dims = {"n": None, "S": S if S is not None else DEFAULT_S, "m": m}
    try:
        search_effort = effort_from(effort, subset_samples, restarts, iterations, time_budget)
        if dataset is not None and (files or n is not None):
            raise InputError("--dataset gives X (and n): it cannot be combined with --n, --X, --W0, --z0 or --y")
        if dataset is None and center:
            raise InputError("--center needs --dataset")
        if not files and dataset is None:  # usage errors first, before the numerical stack (scipy) is imported
            check_sizes(dims["n"], dims["S"], dims["m"])
    except InputError as exc:
        raise fail(str(exc))
    from .certificate import CertificateError
    from .render import certificate_table
    from .verify import VerifyConfig, verify as run_verify

    cfg = VerifyConfig(n=dims["n"], S=dims["S"], m=dims["m"], seed=seed,
                       X=None if X is None else str(X), W0=None if W0 is None else str(W0),
                       z0=None if z0 is None else str(z0), y=None if y is None else str(y),
                       z_dist=z_dist, labels=labels, profile=profile, eta_w=eta_w, eta_z=eta_z, tol=tol,
                       max_steps=max_steps, no_gd=no_gd, force=force, require=require, normalize=normalize,
                       strict=strict,
                       track_every=track_every, effort=search_effort, paper_rates=paper_rates, dataset=dataset, center=center,
                       baseline=baseline)
    # data-set arrays are derived, not regenerable from the seed: embed them so that audit can check
    embed_arrays = embed_arrays or (dataset is not None and out_path is not None)
    lines = None if err.is_terminal else _line_progress()
    try:
        targets = _check_outputs(out_path, export_graph, embed_arrays,
                                 {"--X": X, "--W0": W0, "--z0": z0, "--y": y,
                                  "--profile": profile if Path(profile).is_file() else None})
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                      TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                      console=err, transient=True, disable=not err.is_terminal) as progress:
            from .properties import registry
            task = progress.add_task("checking properties", total=len(registry()))
            gd_task = None
            gd_start = [0.0]

            def on_check(eq: str, name: str) -> None:
                progress.update(task, description=f"checking ({eq}) {name}",
                                completed=[c.eq for c in registry()].index(eq))
                if lines:
                    lines.line(f"checking ({eq}) {name}")

            search_task = None

            def on_search(eq: str, what: str, frac: float) -> None:
                nonlocal search_task
                if search_task is None:
                    search_task = progress.add_task(what, total=100)
                progress.update(search_task, description=f"searching {what}", completed=round(100 * frac))

            def on_gd(t: int, e: float) -> None:
                nonlocal gd_task
                progress.update(task, completed=len(registry()), description="properties checked")
                if gd_task is None:
                    gd_task = progress.add_task("gradient descent", total=None)
                    gd_start[0] = e
                progress.update(gd_task, description=f"gradient descent  t={t}  ||e||={e:.4g}",
                                **_gd_progress(gd_start[0], e, tol))
                if lines:
                    lines.gd(t, e)

            def on_baseline(k: int, K: int, seconds: float) -> None:
                progress.update(task, description=f"baseline: random instance {min(k + 1, K)} of {K}")
                if lines:
                    lines.line(f"baseline: random instance {min(k + 1, K)} of {K} ({seconds:.0f} s)", force=k == K)

            import numpy as np

            with np.errstate(all="ignore"):  # overflow is a result (diverged, NaN statistics), not a warning
                outcome = run_verify(cfg, on_check=on_check, on_search=on_search, on_gd=on_gd,
                                     command=["qrcheck", *sys.argv[1:]], on_baseline=on_baseline)
    except InputError as exc:
        raise fail(str(exc))
    # write first (both files or neither), render after: a closed pipe or an odd terminal
    # encoding can no longer cost the certificate
    written = None
    if out_path is not None:
        try:
            written = outcome.certificate.write(targets["--out"], embed_arrays=embed_arrays)
        except CertificateError as exc:
            raise fail(str(exc))
    graph_note = None
    if export_graph is not None:
        if outcome.gd is None or outcome.gd.changed is None:
            graph_note = f"gradient descent did not run: no graph written to {export_graph}"
        else:
            import networkx as nx

            from .certificate import write_atomic
            from .gd_report import change_graph

            # written here, not in gd_report (L5), which may not import the certificate layer's writer
            write_atomic(targets["--export-graph"],
                         "\n".join(nx.generate_graphml(change_graph(outcome.gd.changed))) + "\n")
    out.print(certificate_table(outcome.certificate))
    if written is not None:
        out.print(f"certificate written to {out_path}", highlight=False)
        if written.arrays is not None:
            out.print(f"arrays written to {out_path.with_name(written.arrays.file)}", highlight=False)
    if export_graph is not None:
        if graph_note is not None:
            err.print(graph_note, highlight=False)
        else:
            out.print(f"activation-change graph D (|D| = {outcome.gd.D}) written to {export_graph}",
                      highlight=False)
    if strict and outcome.certificate.exit_code == 0 and outcome.not_certified:
        err.print("--strict: required properties not certified: "
                  + ", ".join(f"({e}) {outcome.certificate.properties[e].status.value}" for e in outcome.not_certified),
                  highlight=False, markup=False)
    raise typer.Exit(outcome.exit_code)


def _line_progress():
    """Progress as plain lines on stderr, every few seconds (stderr is not a terminal: a log, a pipe,
    CI), :class:`qrcheck.render.LineProgress`."""
    from .render import LineProgress

    return LineProgress(lambda text: err.print(text, highlight=False, soft_wrap=True, markup=False))


def _given_on_command_line(*params: str) -> bool:
    """Whether any of these parameters of the running command was given on the command line (click's
    context, vendored by some typer versions: found through typer.Context's base class)."""
    import importlib

    core = importlib.import_module(typer.Context.__mro__[1].__module__)
    ctx = importlib.import_module(core.__name__.rsplit(".", 1)[0] + ".globals").get_current_context()
    return any(ctx.get_parameter_source(p) is core.ParameterSource.COMMANDLINE for p in params)


def paper_rates_default(args: list[str]) -> list[str]:
    """``--paper-rates`` with no rule (last, or followed by another option) means ``--paper-rates stated``."""
    return [("--paper-rates=stated" if a == "--paper-rates" and (i + 1 == len(args) or args[i + 1].startswith("-"))
             else a) for i, a in enumerate(args)]


def _gd_progress(e0: float, e: float, tol: float) -> dict:
    """Progress of GD toward ||e|| < tol on a log scale: completed / total = log(e0/e) / log(e0/tol)."""
    import math

    if not (e0 > tol and e > 0 and math.isfinite(e)):
        return {}
    return {"total": 100, "completed": min(100.0, max(0.0, 100 * math.log(e0 / e) / math.log(e0 / tol)))}


def _check_graph_path(path: Path) -> None:
    """--export-graph: networkx importable, checked before any work (the path: :func:`_check_outputs`)."""
    try:
        import networkx  # noqa: F401
    except ImportError:
        raise InputError("--export-graph needs networkx: pip install 'qrcheck[graph]'") from None


@app.command("regime")
def regime_command(
    n: Annotated[int, typer.Option("--n", help="Input dimension.")] = 100,
    S: Annotated[int, typer.Option("--S", help="Number of neurons.")] = 500,
    m: Annotated[int, typer.Option("--m", help="Number of data points.")] = 300,
    eta_w: EtaWOpt = 1e-3,
    eta_z: EtaZOpt = 0.0,
) -> None:
    """Theorem 2.3's conditions (15)-(18) with their log-slack, the case, and the predicted bounds."""
    from .certificate.records import check_rates
    from .regime import classify, report
    from .render import regime_table

    for name, v in (("--n", n), ("--S", S), ("--m", m)):
        if v < 1:
            raise fail(f"{name} must be a positive integer, got {v}")
    if n * S < 3:
        raise fail("n S must be at least 3 (L = ln(nS) must exceed 1)")
    try:
        check_rates(eta_w, eta_z)
    except InputError as exc:
        raise fail(str(exc))
    rep = report(classify(n, S, m, eta_w, eta_z))
    out.print(regime_table(rep))
    out.print(rep.case.explanation(), highlight=False)


@app.command("properties")
def list_properties() -> None:
    """List every registered property checker with its statement."""
    from .properties import registry
    from .render import properties_table

    try:
        checkers = registry()
    except InputError as exc:
        raise fail(str(exc))
    out.print(properties_table(checkers))


def _sweep_data(dataset: Optional[str], X: Optional[Path], center: bool, m: str) -> Optional[dict]:
    """The data set a sweep subsamples (``--dataset NAME`` or ``--X FILE``): its name for verify
    (``file:PATH`` for a file) and n; checks that every m fits in it."""
    from .sweep import parse_int_list

    if dataset is not None and X is not None:
        raise InputError("--dataset and --X both give the data: pass one")
    if dataset is None and X is None:
        if center:
            raise InputError("--center needs --dataset or --X")
        return None
    from .datasets import FILE_PREFIX, load

    name = dataset if dataset is not None else f"{FILE_PREFIX}{X}"
    whole = load(name, center=False)
    big = max(parse_int_list(m, "m"))
    if big > whole.n_points:
        raise InputError(f"--m {big} exceeds the {whole.n_points} points of {dataset or X}")
    return {"name": name, "n": whole.shape[0]}


def _sweep_progress(specs, out_dir: Path, workers: Optional[int], scheduler: Optional[str]):
    """Run :func:`qrcheck.sweep.run_sweep` under a rich progress bar (runs, ETA) on stderr."""
    from rich.progress import MofNCompleteColumn, TimeRemainingColumn

    from .sweep import run_sweep, validate_specs

    validate_specs(specs)  # bad input: one line, before any progress bar or file
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), console=err,
                  transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task("runs", total=None)
        counts = {"failed": 0, "done": 0, "todo": 0}
        lines = None if err.is_terminal else _line_progress()

        def on_start(todo: int, skipped: int) -> None:
            counts["todo"] = todo
            progress.update(task, total=todo, description=f"runs ({skipped} already finished)")
            if lines:
                lines.line(f"sweep: {todo} runs to do, {skipped} already finished")

        def on_result(spec, result) -> None:
            counts["failed"] += not result.ok
            counts["done"] += 1
            note = f" {counts['failed']} failed" if counts["failed"] else ""
            progress.update(task, advance=1, description=f"runs: last {spec.run_id} {result.seconds:.1f}s{note}")
            if lines:
                lines.line(f"sweep: {counts['done']}/{counts['todo']} runs done; last {spec.run_id} "
                           f"{result.seconds:.1f} s{note}", force=counts["done"] == counts["todo"])

        def on_aside(a) -> None:
            progress.console.print(f"run {a.run_id}: its file {a.reason}; moved aside to {a.moved_to}, "
                                   "running it again", style="yellow", highlight=False, soft_wrap=True,
                                   markup=False)

        return run_sweep(specs, out_dir, workers=workers, scheduler=scheduler, on_start=on_start,
                         on_result=on_result, on_aside=on_aside)


def _print_sweep_summary(report, outputs) -> None:
    from .render import outputs_line, sweep_table

    out.print(sweep_table(report, outputs))
    for r in outputs.rows:
        if r.error:
            err.print(f"run {r.run_id} failed: {r.error}", style="red", highlight=False, soft_wrap=True)
    out.print(outputs_line(outputs), highlight=False)


@app.command()
def sweep(
    S: Annotated[str, typer.Option("--S", help="Neuron counts: 100,200 or START:STOP:STEP (STOP included).")],
    m: Annotated[str, typer.Option("--m", help="Data sizes: 100,200 or START:STOP:STEP (STOP included).")],
    out_dir: Annotated[Path, typer.Option("--out", help="Sweep folder: runs/, summary.csv, table.md, figures/.")],
    n: Annotated[int, typer.Option("--n", help="Input dimension.")] = 100,
    reps: Annotated[int, typer.Option(help="Runs per (S, m), each with its own derived seed.")] = 1,
    seed: Annotated[int, typer.Option(help="Base seed; run seeds derive from (seed, n, S, m, rep).")] = 0,
    z_dist: ZDistOpt = "rademacher",
    profile: ProfileOpt = "paper",
    eta_w: EtaWOpt = 1e-3,
    paper_rates: PaperRatesOpt = None,
    eta_z: EtaZOpt = 0.0,
    labels: LabelsOpt = "gaussian",
    tol: TolOpt = 1e-3,
    max_steps: MaxStepsOpt = 100_000,
    no_gd: NoGdOpt = False,
    force: ForceOpt = False,
    require: RequireOpt = "regime",
    effort: EffortOpt = "default",
    subset_samples: SubsetSamplesOpt = None,
    restarts: RestartsOpt = None,
    iterations: IterationsOpt = None,
    time_budget: TimeBudgetOpt = None,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    figures: FiguresOpt = True,
    dataset: DatasetOpt = None,
    X: Annotated[Optional[Path], typer.Option("--X", help="Sweep subsamples of the columns (points) of this n x N .npy file (as --dataset does).")] = None,
    center: CenterOpt = False,
    baseline: Annotated[Optional[int], typer.Option("--baseline", help="Random instances per run to compare with (default 5 with --dataset/--X, else 0).")] = None,
) -> None:
    """Run verify for every (S, m, rep); resumable; writes DIR/runs/, summary.csv, table.md, figures/.
    With --dataset or --X every run checks m points subsampled (from its seed) from the data."""
    from .search import effort_from
    from .rates import paper_eta_w
    from .sweep import parse_int_list, plan_grid, rebuild_outputs
    from .verify import VerifyConfig

    try:
        data = _sweep_data(dataset, X, center, m)
        template = VerifyConfig(n=data["n"] if data else n, seed=seed, z_dist=z_dist, labels=labels, profile=profile,
                                eta_w=eta_w, eta_z=eta_z, tol=tol, max_steps=max_steps, no_gd=no_gd, force=force,
                                require=require, effort=effort_from(effort, subset_samples, restarts, iterations, time_budget),
                                dataset=data["name"] if data else None, center=center,
                                baseline=baseline if baseline is not None else (5 if data else 0))
        template.validate()
        specs = plan_grid(template, parse_int_list(S, "S"), parse_int_list(m, "m"), reps, seed,
                          eta_w=(lambda S_, m_: paper_eta_w(S_, m_, paper_rates)) if paper_rates else None)
        report = _sweep_progress(specs, out_dir, workers, scheduler)
        outputs = rebuild_outputs(out_dir, figures=figures)
    except InputError as exc:
        raise fail(str(exc))
    _print_sweep_summary(report, outputs)
    raise typer.Exit(1 if report.failed else 0)


@app.command()
def reproduce(
    which: Annotated[str, typer.Argument(help="table1, table2 or local (the paper's Section 4).")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder of the reproduction (a sweep folder).")],
    reps: Annotated[Optional[int], typer.Option(help="Runs per cell (default: the paper's counts).")] = None,
    quick: Annotated[bool, typer.Option("--quick", help="A small subset, for smoke testing.")] = False,
    rates: Annotated[str, typer.Option("--paper-rates", "--rates", metavar="stated|implied", help="table1 rates (qrcheck.rates.paper_rates): stated (the text's rule) or implied (5e-4 for S=1000, m<=800, as the printed T imply).")] = "stated",
    seed: Annotated[int, typer.Option(help="Base seed; run seeds derive from (seed, n, S, m, rep).")] = 0,
    max_steps: MaxStepsOpt = 100_000,
    effort: EffortOpt = "default",
    subset_samples: SubsetSamplesOpt = None,
    restarts: RestartsOpt = None,
    iterations: IterationsOpt = None,
    time_budget: TimeBudgetOpt = None,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    figures: FiguresOpt = True,
) -> None:
    """Rerun the paper's Table 1, Table 2 or local-labels experiment and compare with its published ranges."""
    from .search import effort_from
    from .paper import reproduce_plan, write_comparison
    from .render import comparison_table, local_table
    from .verify import VerifyConfig

    try:
        template = VerifyConfig(max_steps=max_steps, effort=effort_from(effort, subset_samples, restarts, iterations, time_budget))
        specs = reproduce_plan(which, template, reps=reps, quick=quick, base_seed=seed, rates=rates)
        report = _sweep_progress(specs, out_dir, workers, scheduler)
        rep = write_comparison(which, out_dir, figures=figures)
    except InputError as exc:
        raise fail(str(exc))
    _print_sweep_summary(report, rep.outputs)
    if rep.local:
        out.print(local_table(rep.local))
    if rep.comparisons:
        out.print(comparison_table(which, rep.comparisons, rep.comparison_md))
    else:
        out.print(f"comparison: {rep.comparison_md}", highlight=False)
    raise typer.Exit(1 if report.failed else 0)


@app.command("audit")
def audit_command(
    cert: Annotated[Path, typer.Argument(help="The certificate (JSON) to audit.", show_default=False)],
    replay_gd: Annotated[bool, typer.Option("--replay-gd", help="Also replay gradient descent (12) and compare T, D, distances, kappa_H.")] = False,
    arrays: Annotated[Optional[Path], typer.Option("--arrays", help="X, W0, z0, y as .npz (verify --embed-arrays writes one) instead of regenerating them.")] = None,
    dense_m: Annotated[Optional[int], typer.Option("--dense-m", min=0, help="Above this m the audit forms no m x m matrix (default 6000; docs/certificates.md, 'Large m').", show_default=False)] = None,
) -> None:
    """Re-derive every claim of a certificate. Exit 0 all re-verified, 1 some claim does not hold,
    2 unreadable or not a certificate, 3 not contradicted but not fully re-derivable here (arrays)."""
    from rich.text import Text

    from .audit import Outcome, audit as run_audit
    from .certificate.io import open_regular
    from .render import audit_table

    try:  # what can be refused is refused first, in one line, before any progress line
        with open_regular(cert, what="certificate"):
            pass
        if arrays is not None:
            with open_regular(arrays, what=".npz of arrays"):
                pass
    except InputError as exc:
        raise fail(f"--arrays: {exc}" if arrays is not None and str(arrays) in str(exc) else str(exc))
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=err, transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task("auditing", total=None)
        lines = None if err.is_terminal else _line_progress()

        def on_stage(s: str) -> None:
            progress.update(task, description=escape(s))
            if lines:
                lines.line(f"audit: {s}")

        def on_gd(t: int, e: float) -> None:
            progress.update(task, description=f"replaying gradient descent  t={t}  ||e||={e:.4g}")
            if lines:
                lines.gd(t, e)

        report = run_audit(cert, arrays=arrays, replay_gd=replay_gd, on_stage=on_stage, on_gd=on_gd, dense_m=dense_m)
    if report.outcome is Outcome.UNREADABLE:
        raise fail(report.error or "unreadable certificate")
    if report.mismatches:
        out.print(audit_table(report))
    for note in report.notes:
        out.print(Text(f"note: {note}", style="dim"))
    for u in report.unverified:
        out.print(Text(f"not re-derived: {u}", style="yellow"))
    for key in getattr(report, "unvouched", ()):
        out.print(Text(f"not checked: {key}", style="yellow"))
    skipped = len(report.skipped)
    recorded = len(report.not_vouched) - skipped
    if recorded > 0:
        out.print(Text(f"not vouched for: {recorded} keys that record rather than claim (timings, "
                       "versions, free text; docs/certificates.md)", style="dim"))
    where = f"; arrays {report.arrays_from}" if report.arrays_from else ""
    gd = "; gradient descent replayed" if report.gd_replayed else ""
    unchecked = len(getattr(report, "unvouched", ()))
    if unchecked:
        clean = f"clean: no claim contradicted; {unchecked} key(s) not checked (listed above)"
    elif skipped:
        clean = (f"clean: every status re-verified; {skipped} value(s) no status depends on not re-derived "
                 "at this size (named in the note above)")
    else:
        clean = "clean: every claim re-verified"
    summary = {Outcome.CLEAN: (clean, "bold green"),
               Outcome.MISMATCH: (f"{len(report.mismatches)} claim(s) do not hold", "bold red"),
               Outcome.INCOMPLETE: ("incomplete: nothing contradicts the certificate, but not every claim "
                                    "could be re-derived here", "bold yellow")}[report.outcome]
    out.print(Text(f"audit: {summary[0]} ({report.checks} checks{where}{gd})", style=summary[1]))
    raise typer.Exit(report.outcome.exit_code)


@app.command("show")
def show_command(
    cert: Annotated[Path, typer.Argument(help="The certificate (JSON) to render.", show_default=False)],
    fmt: Annotated[str, typer.Option("--format", help="table (terminal) or markdown (for review comments).")] = "table",
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Also draw ||e_t|| and the --track-every checkpoints to this PNG (PDF and SVG beside it; needs matplotlib).")] = None,
) -> None:
    """Render a certificate for reading: its properties, gradient descent, inputs and provenance."""
    from .render import certificate_markdown, certificate_table, detail_tables, load_for_show

    if fmt not in ("table", "markdown"):
        raise fail(f"--format must be table or markdown, got {fmt!r}")
    try:
        c = load_for_show(cert)
    except InputError as exc:
        raise fail(str(exc))
    if plot is not None:
        try:
            from .plots import save_checkpoints
        except ImportError:
            raise fail("--plot needs matplotlib: pip install 'qrcheck[plots]'")
        try:
            save_checkpoints(c, plot)
        except OSError as exc:
            raise fail(f"--plot: cannot write {plot} ({exc.__class__.__name__})")
        err.print(f"figure written to {plot}", highlight=False)
    if fmt == "markdown":
        try:
            typer.echo(certificate_markdown(c), nl=False)
            sys.stdout.flush()
        except BrokenPipeError:  # the reader stopped early (| head): not an error of show's
            _to_devnull(sys.stdout)
        return
    out.print(certificate_table(c))
    for t in detail_tables(c):
        out.print(t)


def _setup_streams_and_signals() -> None:
    """Output that any terminal encoding can show (unencodable characters are replaced, never an
    error) and SIGINT/SIGTERM as :class:`Interrupted` (docs/robustness.md)."""
    import signal

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="replace")
        except (AttributeError, ValueError, OSError):
            pass
    try:
        signal.signal(signal.SIGINT, _on_signal)
        signal.signal(signal.SIGTERM, _on_signal)
    except (ValueError, OSError):  # not the main thread
        pass


def _exit(code: int) -> None:
    """Exit with ``code`` even when stdout is a closed pipe (the last flush would fail with EPIPE and
    turn the exit code into 120)."""
    try:
        sys.stdout.flush()
    except (BrokenPipeError, OSError, ValueError):
        _to_devnull(sys.stdout)
    sys.exit(code)


def main() -> None:
    """Console entry point: usage errors and unexpected failures become one line on stderr, exit 2;
    SIGINT and SIGTERM say ``error: interrupted`` and exit 130 / 143 with nothing half-written; a
    closed stdout keeps the command's exit code.

    Works across typer versions (some vendor click): usage errors are recognised by their
    ``format_message`` method, exits by their ``exit_code``.
    """
    _setup_streams_and_signals()
    sys.argv[1:] = paper_rates_default(sys.argv[1:])
    try:
        rv = app(standalone_mode=False)
    except Interrupted as exc:
        err.print("error: interrupted", style="red", highlight=False)
        _exit(128 + exc.signum)
    except KeyboardInterrupt:
        err.print("error: interrupted", style="red", highlight=False)
        _exit(130)
    except BrokenPipeError:
        _to_devnull(sys.stdout)
        err.print("error: output pipe closed", style="red", highlight=False)
        _exit(2)
    except Exception as exc:  # noqa: BLE001 - never a traceback on the console
        if hasattr(exc, "format_message"):
            err.print(f"error: {escape(_one_line(exc.format_message()))}", style="red", highlight=False,
                      soft_wrap=True)
            _exit(2)
        if type(exc).__name__ == "Exit" and isinstance(getattr(exc, "exit_code", None), int):
            _exit(exc.exit_code)
        if type(exc).__name__ == "Abort":
            err.print("error: aborted", style="red")
            _exit(2)
        if os.environ.get("QRCHECK_DEBUG"):
            raise
        err.print(f"error: internal error: {exc.__class__.__name__}: {escape(_one_line(str(exc)))} (set "
                  "QRCHECK_DEBUG=1 for a traceback)", style="red", highlight=False, soft_wrap=True)
        _exit(2)
    _exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":
    main()
