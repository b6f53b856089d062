"""Sweeps of ``verify`` over (S, m, rep): plan, run, summary (the paper's grids: :mod:`qrcheck.paper`).

A sweep is a tuple of :class:`RunSpec` (one ``VerifyConfig`` per (S, m, rep)). :func:`run_sweep`
runs the unfinished ones on a local process pool or on an existing Dask cluster and writes each
certificate to ``DIR/runs/<run_id>.json`` (temporary name + rename); :func:`rebuild_outputs` then
rebuilds ``summary.csv``, ``table.md`` and ``figures/`` from ``DIR/runs/`` alone.

Seeds: run (n, S, m, rep) of base seed ``b`` uses
``seed = SeedSequence(entropy=b, spawn_key=(n, S, m, rep)).generate_state(1, uint64)[0] >> 1``
(:func:`derive_seed`), which depends on nothing else, so extending a grid or resuming never changes
a run's seed, and a local and a Dask run of the same spec draw identical (X, W0, z0, y).

Quantities tabulated (paper Section 4, Table 1): the stopping time ``T`` of (12),
``kappa_H = lambda_min(H_T) / lambda_min(H_0)``, ``|D|`` and ``||W_T - W_0||_F``; the figures plot
``kappa_H`` (Figure 1), ``kappa_D = |D| / (m S)`` against ``(m / (n S))^{1/3}`` (Figure 2, from (62))
and ``kappa_W = ||W_T - W_0||_F / m^{1/2}`` (Figure 3, cf. (32)).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import multiprocessing
import os
import statistics
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from . import InputError
from .certificate import CertificateError, dumps, read_certificate, schema_issues, write_atomic
from .certificate.records import PROPERTY_EQS, Parameters
from .verify import VerifyConfig, verify

QUANTITIES = ("T", "kappa_H", "D", "W_distance")
QUANTITY_LABELS = {"T": "T", "kappa_H": "kappa_H", "D": "|D|", "W_distance": "||W_T - W_0||_F"}
# columns of summary.csv that measure time, not the computation (ignored when comparing sweeps)
TIMING_COLUMNS = ("wall_seconds", "seconds_per_step")
RUNS = "runs"
QUARANTINE = "quarantine"   # DIR/quarantine/: run files that were not finished runs, moved aside
# a sweep plans at most this many runs (checked before the grid is built)
MAX_RUNS = 100_000
ERROR_SUFFIX = ".error.json"
BLAS_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
            "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


# --------------------------------------------------------------------------------------------
# planning

def derive_seed(base_seed: int, n: int, S: int, m: int, rep: int) -> int:
    """Seed of run (n, S, m, rep): the first 64-bit word of
    ``SeedSequence(entropy=base_seed, spawn_key=(n, S, m, rep))``, shifted right by one (so it is a
    non-negative 63-bit integer). Independent of the grid the run belongs to."""
    ss = np.random.SeedSequence(entropy=int(base_seed), spawn_key=(int(n), int(S), int(m), int(rep)))
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def parse_int_list(text: str, name: str) -> tuple[int, ...]:
    """``"100,200,500"`` or ``"100:1000:100"`` (START:STOP:STEP, STOP included) or a mix of both
    separated by commas -> sorted distinct positive integers."""
    values: set[int] = set()
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if ":" in part:
                fields = [int(x) for x in part.split(":")]
                if len(fields) != 3:
                    raise ValueError
                start, stop, step = fields
                if step <= 0 or stop < start:
                    raise InputError(f"--{name}: range {part!r} needs STEP > 0 and STOP >= START")
                count = (stop - start) // step + 1
                if count + len(values) > MAX_RUNS:
                    raise InputError(f"--{name}: {part!r} gives {count} values; a sweep runs at most "
                                     f"{MAX_RUNS} runs")
                values.update(range(start, stop + 1, step))
            else:
                values.add(int(part))
        except ValueError:
            raise InputError(f"--{name}: cannot read {part!r}; give a list like 100,200 or a range "
                             "START:STOP:STEP") from None
    if not values:
        raise InputError(f"--{name}: no values given")
    bad = [v for v in values if v <= 0]
    if bad:
        raise InputError(f"--{name}: values must be positive integers, got {bad[0]}")
    return tuple(sorted(values))


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: ``config`` is the full verify configuration (its n, S, m, seed set)."""

    rep: int
    config: VerifyConfig

    @property
    def S(self) -> int:
        return int(self.config.S)

    @property
    def m(self) -> int:
        return int(self.config.m)

    @property
    def n(self) -> int:
        return int(self.config.n)

    @property
    def run_id(self) -> str:
        return f"S{self.S}_m{self.m}_rep{self.rep}"

    def parameters(self) -> Parameters:
        """The run's :class:`Parameters` (``profile`` as given: a built-in name or a file)."""
        return self.config.parameters()

    def verify_command(self) -> list[str]:
        """The ``qrcheck verify`` command line that repeats this run on its own."""
        return self.config.verify_command()


def plan_grid(template: VerifyConfig, S_values: Iterable[int], m_values: Iterable[int], reps: int,
              base_seed: int = 0, eta_w: Callable[[int, int], float] | None = None) -> tuple[RunSpec, ...]:
    """Every (S, m, rep), rep = 0..reps-1, with ``template``'s options, n from the template, the seed
    from :func:`derive_seed` and, when ``eta_w`` is given, the rate ``eta_w(S, m)``."""
    if template.n is None or int(template.n) <= 0:
        raise InputError("--n must be a positive integer")
    if reps < 1:
        raise InputError(f"--reps must be >= 1, got {reps}")
    S_values, m_values = sorted(set(S_values)), sorted(set(m_values))
    total = len(S_values) * len(m_values) * reps
    if total > MAX_RUNS:
        raise InputError(f"the grid has {len(S_values)} x {len(m_values)} x {reps} = {total} runs; a sweep "
                         f"runs at most {MAX_RUNS}")
    specs = []
    for S in sorted(set(S_values)):
        for m in sorted(set(m_values)):
            for rep in range(reps):
                cfg = dataclasses.replace(template, S=int(S), m=int(m),
                                          seed=derive_seed(base_seed, template.n, S, m, rep),
                                          X=None, W0=None, z0=None, y=None)
                if eta_w is not None:
                    cfg = dataclasses.replace(cfg, eta_w=float(eta_w(S, m)))
                specs.append(RunSpec(rep, cfg))
    return tuple(specs)


# --------------------------------------------------------------------------------------------
# running

@dataclass(frozen=True)
class RunOutcome:
    """What a worker sends back: the certificate's canonical JSON text (serialised and validated
    against the schema in the worker, by the worker's own code), or the error that stopped the run."""

    run_id: str
    certificate_json: str | None
    error: str | None
    traceback: str | None
    seconds: float

    @property
    def ok(self) -> bool:
        return self.certificate_json is not None


def execute(spec: RunSpec) -> RunOutcome:
    """Run verify for one spec and validate its certificate against the schema; never raises (an
    exception, a schema violation included, becomes ``RunOutcome.error``)."""
    t0 = time.perf_counter()
    try:
        with np.errstate(all="ignore"):  # an overflowing run is a result, not warnings on stderr
            outcome = verify(spec.config, command=spec.verify_command())
        text = outcome.certificate.dumps()  # schema-checked by Certificate.to_json
        return RunOutcome(spec.run_id, text, None, None, time.perf_counter() - t0)
    except Exception as exc:  # noqa: BLE001 - a failed run is recorded, the sweep goes on
        return RunOutcome(spec.run_id, None, f"{exc.__class__.__name__}: {exc}", traceback.format_exc(),
                          time.perf_counter() - t0)


def blas_threads_per_worker(workers: int, cores: int | None = None) -> int:
    """floor(cores / workers), at least 1, so that workers x threads <= cores (when workers <= cores)."""
    cores = cores or os.cpu_count() or 1
    return max(1, cores // max(1, workers))


PARENT_POLL_SECONDS = 0.2


def _watch_parent(parent: int) -> None:
    """Exit this worker at once when the sweep that started it is gone (killed, even by SIGKILL):
    the worker is then re-parented, so ``os.getppid()`` changes."""
    while True:
        time.sleep(PARENT_POLL_SECONDS)
        if os.getppid() != parent:
            os._exit(1)


def _init_worker(threads: int, parent: int | None = None) -> None:
    """Pool initializer: cap BLAS/OpenMP threads of this worker to ``threads`` (threadpoolctl for the
    libraries already loaded, environment variables for any loaded later); ignore SIGINT (a Ctrl-C
    reaches the whole process group: the sweep itself handles it and stops its workers); and start a
    daemon thread that ends the worker when its parent ``parent`` dies (:func:`_watch_parent`)."""
    import signal
    import threading

    for var in BLAS_ENV:
        os.environ[var] = str(threads)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if parent is not None:
        threading.Thread(target=_watch_parent, args=(parent,), name="qrcheck-parent-watchdog",
                         daemon=True).start()


@dataclass(frozen=True)
class SweepReport:
    """Counts of one ``run_sweep`` call; ``failed_ids`` are the runs recorded with an error."""

    total: int
    skipped: int
    completed: int
    failed: int
    failed_ids: tuple[str, ...]
    wall_seconds: float
    backend: str


def runs_dir(out_dir: str | Path) -> Path:
    return Path(out_dir) / RUNS


def load_certificate(path: Path) -> dict | None:
    """The certificate at ``path`` if it exists and parses as a certificate (strict JSON object with
    the certificate's ``schema`` tag, ``parameters`` and ``gd``), else None."""
    if not path.is_file():
        return None
    try:
        cert = read_certificate(path)
    except CertificateError:
        return None
    if not isinstance(cert.get("parameters"), dict) or not isinstance(cert.get("gd"), dict):
        return None
    return cert


def finished_certificate(path: Path, run_id: str | None = None) -> tuple[dict | None, str | None]:
    """``(certificate, None)`` when ``path`` holds a finished run: a regular file, a certificate
    (strict JSON, schema tag), valid against its schema, and, given ``run_id``
    (``S<S>_m<m>_rep<r>``), a run of those S and m. Otherwise ``(None, why)``."""
    from .certificate.io import file_kind

    try:
        st = os.stat(path)
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror or exc.__class__.__name__})"
    import stat as _stat

    if not _stat.S_ISREG(st.st_mode):
        return None, f"is {file_kind(st.st_mode)}, not a certificate"
    try:
        cert = read_certificate(path)
    except CertificateError as exc:
        return None, str(exc).replace(str(path), path.name)
    issues = schema_issues(cert, limit=1)
    if issues:
        return None, f"does not match its schema at {issues[0].path}: {issues[0].message[:120]}"
    try:
        p = Parameters.from_json(cert["parameters"])
    except Exception as exc:  # noqa: BLE001 - schema-valid but unreadable parameters
        return None, f"has unreadable parameters ({exc.__class__.__name__})"
    if run_id is not None and (run_id.rsplit("_rep", 1)[0] != f"S{p.S}_m{p.m}" or _rep_of(run_id) is None):
        return None, f"holds a run with S={p.S}, m={p.m}, not run {run_id}"
    return cert, None


@dataclass(frozen=True)
class SetAside:
    """A file of ``runs/`` that was not a finished run: moved to ``DIR/quarantine/`` (the run is
    redone); ``reason`` says what was wrong with it."""

    run_id: str
    moved_to: Path
    reason: str


def set_aside(path: Path, out_dir: Path) -> Path:
    """Move ``path`` (a file or folder of ``runs/``) to ``out_dir/quarantine/`` under its own name
    (``NAME.1``, ``NAME.2``, ... if taken); nothing is deleted."""
    qdir = Path(out_dir) / QUARANTINE
    qdir.mkdir(exist_ok=True)
    dest, k = qdir / path.name, 0
    while os.path.lexists(dest):
        k += 1
        dest = qdir / f"{path.name}.{k}"
    os.rename(path, dest)
    return dest


def validate_specs(specs: Sequence[RunSpec]) -> None:
    """Everything about a sweep that can be checked before it writes anything: each distinct
    configuration validates, each profile loads, and the largest run fits in memory. Raises
    :class:`InputError` (one line)."""
    from .draw import check_sizes, estimated_bytes
    from .profiles import load_profile

    if not specs:
        raise InputError("the sweep has no runs")
    for s in specs:
        s.config.validate()
    for prof in sorted({s.config.profile for s in specs}):
        load_profile(prof)
    biggest = max(specs, key=lambda s: estimated_bytes(s.n, s.S, s.m))
    check_sizes(biggest.n, biggest.S, biggest.m)


def _mismatch(spec: RunSpec, cert: dict) -> str | None:
    """The first parameter in which ``cert`` differs from ``spec``, or None."""
    from .profiles import load_profile

    want = spec.config.parameters(profile_name=load_profile(spec.config.profile).name)
    return want.mismatch(Parameters.from_json(cert["parameters"]))


class _DirLock:
    """An exclusive ``flock`` on DIR/.lock for the life of a sweep (released if the process dies)."""

    def __init__(self, out_dir: Path):
        self.path = out_dir / ".lock"
        self.fh = None

    def __enter__(self) -> "_DirLock":
        import fcntl

        self.fh = open(self.path, "a")
        try:
            fcntl.flock(self.fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.fh.close()
            raise InputError(f"--out: another sweep is running in {self.path.parent}") from None
        return self

    def __exit__(self, *exc) -> None:
        self.fh.close()


def _record(rdir: Path, spec: RunSpec, result: RunOutcome) -> None:
    """Write a certificate (or the error record) atomically and drop the stale counterpart."""
    cert_path, err_path = rdir / f"{spec.run_id}.json", rdir / f"{spec.run_id}{ERROR_SUFFIX}"
    if result.ok:
        write_atomic(cert_path, result.certificate_json)
        err_path.unlink(missing_ok=True)
    else:
        record = {"run_id": spec.run_id, "rep": spec.rep, "error": result.error, "traceback": result.traceback,
                  "seconds": result.seconds, "command": spec.verify_command(),
                  "parameters": spec.parameters().to_json()}
        write_atomic(err_path, dumps(record))


def pending(specs: Sequence[RunSpec], out_dir: str | Path,
            on_aside: Callable[[SetAside], None] | None = None) -> tuple[RunSpec, ...]:
    """The specs without a finished run. A run is finished iff ``runs/<run_id>.json`` is a regular
    file holding a schema-valid certificate of that run's S and m (:func:`finished_certificate`)
    made with the sweep's parameters. A file there that is not (unparsable, schema-invalid,
    another run's certificate, a folder) is moved to ``DIR/quarantine/`` (:func:`set_aside`,
    reported through ``on_aside``) and its run is redone. Raises InputError, before moving
    anything, when a finished run was made with other parameters (another experiment's folder)."""
    rdir = runs_dir(out_dir)
    todo, bad = [], []
    for spec in specs:
        path = rdir / f"{spec.run_id}.json"
        if not os.path.lexists(path):
            todo.append(spec)
            continue
        cert, why = finished_certificate(path, spec.run_id)
        if cert is None:
            bad.append((spec, path, why))
            todo.append(spec)
            continue
        why = _mismatch(spec, cert)
        if why is not None:
            raise InputError(f"--out: {path} was made with other parameters ({why}); use another --out folder")
    for spec, path, why in bad:
        aside = SetAside(spec.run_id, set_aside(path, Path(out_dir)), why)
        if on_aside:
            on_aside(aside)
    return tuple(todo)


def run_sweep(specs: Sequence[RunSpec], out_dir: str | Path, *, workers: int | None = None,
              scheduler: str | None = None, on_start: Callable[[int, int], None] | None = None,
              on_result: Callable[[RunSpec, RunOutcome], None] | None = None,
              on_aside: Callable[[SetAside], None] | None = None) -> SweepReport:
    """Run every unfinished spec and record it in ``out_dir/runs/``.

    Local (default): a ``spawn`` process pool of ``workers`` processes (default: the number of cores),
    each capped to :func:`blas_threads_per_worker` BLAS threads. ``scheduler``: the address of an
    existing ``dask.distributed`` scheduler; the same :func:`execute` tasks run there and only the
    results come back, so the workers need qrcheck installed but no shared file system.
    Runs are dispatched rep by rep (all cells' rep 0 first), so a sweep stopped early covers the
    grid evenly. ``on_start(to_run, skipped)`` is called once, ``on_result(spec, outcome)`` after each run,
    ``on_aside(set_aside)`` for each file of ``runs/`` moved aside (:func:`pending`).
    Everything checkable is checked before anything is written (:func:`validate_specs`).
    """
    t0 = time.perf_counter()
    ids = [s.run_id for s in specs]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise InputError(f"the sweep lists run {dup} twice")
    if workers is not None and workers < 1:
        raise InputError(f"--workers must be >= 1, got {workers}")
    validate_specs(specs)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--out: {out_dir} is not a folder")
    if out_dir.is_dir():   # the files rebuilt at the end: never over a FIFO, device or read-only file
        from .certificate.io import check_output

        for name in ("summary.csv", "table.md"):
            if os.path.lexists(out_dir / name):
                check_output(out_dir / name, "--out")
    rdir = runs_dir(out_dir)
    rdir.mkdir(parents=True, exist_ok=True)
    with _DirLock(out_dir):
        for stale in rdir.glob(".*.tmp"):  # left by a killed writer; nobody else writes here (lock)
            stale.unlink(missing_ok=True)
        # rep by rep: a sweep stopped early has covered every (S, m) about equally
        todo = tuple(sorted(pending(specs, out_dir, on_aside), key=lambda s: (s.rep, s.S, s.m)))
        if on_start:
            on_start(len(todo), len(specs) - len(todo))
        failed: list[str] = []

        def handle(spec: RunSpec, result: RunOutcome) -> None:
            _record(rdir, spec, result)
            if not result.ok:
                failed.append(spec.run_id)
            if on_result:
                on_result(spec, result)

        if not todo:
            backend = "none"
        elif scheduler:
            backend = f"dask {scheduler}"
            _run_dask(todo, scheduler, handle)
        else:
            workers = min(workers or os.cpu_count() or 1, len(todo))
            backend = f"local pool, {workers} worker(s) x {blas_threads_per_worker(workers)} BLAS thread(s)"
            _run_local(todo, workers, handle)
    return SweepReport(total=len(specs), skipped=len(specs) - len(todo), completed=len(todo) - len(failed),
                       failed=len(failed), failed_ids=tuple(sorted(failed)),
                       wall_seconds=time.perf_counter() - t0, backend=backend)


def _run_local(todo: Sequence[RunSpec], workers: int, handle: Callable[[RunSpec, RunOutcome], None]) -> None:
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                               initargs=(blas_threads_per_worker(workers), os.getpid()))
    try:
        futures = {pool.submit(execute, spec): spec for spec in todo}
        for fut in as_completed(futures):
            spec = futures[fut]
            try:
                result = fut.result()
            except Exception as exc:  # noqa: BLE001 - the worker process died (memory, signal)
                result = RunOutcome(spec.run_id, None, f"worker lost: {exc.__class__.__name__}: {exc}",
                                    None, 0.0)
            handle(spec, result)
    except BaseException:
        # interrupted: stop the workers now (a run in progress is lost, finished ones are recorded)
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            try:
                proc.terminate()
            except Exception:  # noqa: BLE001 - already gone
                pass
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _run_dask(todo: Sequence[RunSpec], address: str, handle: Callable[[RunSpec, RunOutcome], None]) -> None:
    try:
        from distributed import Client, as_completed as dask_completed
    except ImportError:
        raise InputError("--scheduler needs dask.distributed: pip install 'qrcheck[dask]'") from None
    try:
        client = Client(address, timeout="20s")
    except Exception as exc:  # noqa: BLE001 - unreachable or not a scheduler
        raise InputError(f"--scheduler: cannot connect to {address} ({exc.__class__.__name__}: {exc})") from None
    with client:
        futures = client.map(execute, list(todo), pure=False)
        spec_of = {f.key: s for f, s in zip(futures, todo)}
        for fut in dask_completed(futures):
            spec = spec_of[fut.key]
            try:
                result = fut.result()
            except Exception as exc:  # noqa: BLE001 - the worker died (KilledWorker) or similar
                result = RunOutcome(spec.run_id, None, f"dask task failed: {exc.__class__.__name__}: {exc}",
                                    None, 0.0)
            handle(spec, result)
            fut.release()


# --------------------------------------------------------------------------------------------
# summary

def error_trajectory(cert: dict) -> tuple[np.ndarray, np.ndarray] | None:
    """(t, ||e_t||) of a certificate's GD phase, None when GD did not run.

    The one place that reads ``gd.error_trajectory``: a list of ||e_t|| for t = 0, k, 2k, ...
    (k = ``gd.error_trajectory_stride``, 1 when absent), with t = T appended when k does not divide T.
    """
    gd = cert.get("gd", {})
    values = gd.get("error_trajectory")
    if not values:
        return None
    e = np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)
    stride = int(gd.get("error_trajectory_stride") or 1)
    t = np.arange(e.size, dtype=np.int64) * stride
    T = gd.get("T")
    if T is not None and stride > 1 and T % stride:
        t[-1] = T
    return t, e


@dataclass(frozen=True)
class RunRow:
    """One row of ``summary.csv``. Statuses in :data:`PROPERTY_EQS` order; GD fields None when GD did
    not run; ``error`` set (and everything from the certificate None) for a failed run.

    D_density = |D| / (m S) (Figure 2); W_per_sqrt_m = ||W_T - W_0||_F / m^{1/2} (Figure 3)."""

    run_id: str
    n: int
    S: int
    m: int
    rep: int | None
    seed: int
    eta_w: float
    eta_z: float
    labels: str
    statuses: tuple[str | None, ...]
    verdict: str | None
    gd_status: str | None
    T: int | None
    final_error: float | None
    kappa_H: float | None
    D: int | None
    D_density: float | None
    W_distance: float | None
    W_per_sqrt_m: float | None
    z_distance: float | None
    wall_seconds: float | None
    seconds_per_step: float | None
    error: str | None
    # issue 14: per property (PROPERTY_EQS order) the statistic, the empirical constant statistic / g
    # and, with verify --baseline, the baseline's median constant; the data set ("" for random X)
    statistics: tuple[float | None, ...] = (None,) * len(PROPERTY_EQS)
    constants: tuple[float | None, ...] = (None,) * len(PROPERTY_EQS)
    baseline_constants: tuple[float | None, ...] = (None,) * len(PROPERTY_EQS)
    dataset: str | None = None

    _PER_EQ = (("statistics", "stat_"), ("constants", "const_"), ("baseline_constants", "baseline_const_"))

    @staticmethod
    def columns() -> tuple[str, ...]:
        head = ("run_id", "n", "S", "m", "rep", "seed", "eta_w", "eta_z", "labels", "dataset")
        tail = ("verdict", "gd_status", "T", "final_error", "kappa_H", "D", "D_density", "W_distance",
                "W_per_sqrt_m", "z_distance", "wall_seconds", "seconds_per_step", "error")
        per_eq = tuple(f"{prefix}{eq}" for _, prefix in RunRow._PER_EQ for eq in PROPERTY_EQS)
        return head + tuple(f"p{eq}" for eq in PROPERTY_EQS) + per_eq + tail

    def as_dict(self) -> dict:
        tuples = {"statuses"} | {name for name, _ in self._PER_EQ}
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in tuples}
        d.update({f"p{eq}": s for eq, s in zip(PROPERTY_EQS, self.statuses)})
        for name, prefix in self._PER_EQ:
            d.update({f"{prefix}{eq}": v for eq, v in zip(PROPERTY_EQS, getattr(self, name))})
        return {c: d[c] for c in self.columns()}


def _rep_of(run_id: str) -> int | None:
    tail = run_id.rsplit("_rep", 1)
    return int(tail[1]) if len(tail) == 2 and tail[1].isdigit() else None


def _per_eq(cert: dict) -> dict[str, tuple[float | None, ...]]:
    """Each property's statistic, empirical constant (statistic / g) and the random baseline's
    median constant (verify --baseline; the baseline's median statistic over the same g)."""
    props = cert.get("properties", {})
    base = (cert.get("baseline") or {}).get("properties") or {}

    def g_of(r: dict) -> float | None:
        g = (r.get("rule") or {}).get("g")
        return g if isinstance(g, (int, float)) and g else None

    def const(v, g):
        return None if v is None or g is None else v / g

    stats, consts, bconsts = [], [], []
    for eq in PROPERTY_EQS:
        r = props.get(eq) or {}
        g = g_of(r)
        stats.append(r.get("statistic"))
        consts.append(r.get("empirical_constant", const(r.get("statistic"), g)))
        bconsts.append(const((base.get(eq) or {}).get("median"), g))
    return {"statistics": tuple(stats), "constants": tuple(consts), "baseline_constants": tuple(bconsts)}


def row_from_certificate(run_id: str, cert: dict) -> RunRow:
    p, gd = Parameters.from_json(cert["parameters"]), cert.get("gd", {})
    props = cert.get("properties", {})
    m, S = p.m, p.S
    D, W = gd.get("D"), gd.get("W_distance")
    return RunRow(run_id=run_id, n=p.n, S=S, m=m, rep=_rep_of(run_id), seed=p.seed,
                  eta_w=p.eta_w, eta_z=p.eta_z, labels=p.labels,
                  statuses=tuple(props.get(eq, {}).get("status") for eq in PROPERTY_EQS),
                  verdict=cert.get("verdict"), gd_status=gd.get("status"), T=gd.get("T"),
                  final_error=gd.get("final_error"), kappa_H=gd.get("kappa_H"), D=D,
                  D_density=None if D is None else D / (m * S), W_distance=W,
                  W_per_sqrt_m=None if W is None else W / math.sqrt(m), z_distance=gd.get("z_distance"),
                  wall_seconds=gd.get("wall_seconds"), seconds_per_step=gd.get("seconds_per_step"), error=None,
                  dataset=p.dataset, **_per_eq(cert))


def row_from_error(record: dict) -> RunRow:
    p = Parameters.from_json(record["parameters"])
    return RunRow(run_id=record["run_id"], n=p.n, S=p.S, m=p.m, rep=record.get("rep"),
                  seed=p.seed, eta_w=p.eta_w, eta_z=p.eta_z, labels=p.labels,
                  statuses=(None,) * len(PROPERTY_EQS), verdict=None, gd_status=None, T=None, final_error=None,
                  kappa_H=None, D=None, D_density=None, W_distance=None, W_per_sqrt_m=None, z_distance=None,
                  wall_seconds=None, seconds_per_step=None, error=record.get("error") or "unknown error",
                  dataset=p.dataset)


def collect(out_dir: str | Path) -> tuple[tuple[RunRow, ...], dict[str, dict]]:
    """Rows of every run in ``out_dir/runs/`` (certificates, then error records of runs without one),
    sorted by (S, m, rep), and the certificates by run id."""
    rdir = runs_dir(out_dir)
    rows, certs = [], {}
    for path in sorted(rdir.glob("*.json")):
        if path.name.endswith(ERROR_SUFFIX):
            continue
        cert, _ = finished_certificate(path, path.stem)   # only what a finished run would hold
        if cert is not None:
            certs[path.stem] = cert
            rows.append(row_from_certificate(path.stem, cert))
    for path in sorted(rdir.glob(f"*{ERROR_SUFFIX}")):
        run_id = path.name[: -len(ERROR_SUFFIX)]
        if run_id in certs:
            continue
        try:
            rows.append(row_from_error(json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    rows.sort(key=lambda r: (r.S, r.m, -1 if r.rep is None else r.rep, r.run_id))
    return tuple(rows), certs


def summary_csv(rows: Sequence[RunRow]) -> str:
    """CSV text, one row per run, columns :meth:`RunRow.columns` (empty cell for None)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=RunRow.columns(), lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if v is None else (repr(v) if isinstance(v, float) else v))
                    for k, v in r.as_dict().items()})
    return buf.getvalue()


@dataclass(frozen=True)
class Range:
    """min, max and arithmetic mean of ``count`` values."""

    min: float
    max: float
    mean: float
    count: int


@dataclass(frozen=True)
class CellStats:
    """Aggregate of the runs of one (S, m): ``runs`` rows, ``gd_ran`` with GD, ``converged`` of those,
    ``failed`` with an error; each quantity's :class:`Range` over the converged runs (the paper
    tabulates converged runs: T and kappa_H of a run stopped by the safety valve mean something else)."""

    S: int
    m: int
    n: int
    eta_w: tuple[float, ...]
    runs: int
    gd_ran: int
    converged: int
    failed: int
    T: Range | None
    kappa_H: Range | None
    D: Range | None
    W_distance: Range | None

    def quantity(self, name: str) -> Range | None:
        return getattr(self, name)


def _range(values: Sequence[float]) -> Range | None:
    vals = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not vals:
        return None
    return Range(min(vals), max(vals), statistics.fmean(vals), len(vals))


def aggregate(rows: Sequence[RunRow]) -> tuple[CellStats, ...]:
    """One :class:`CellStats` per (S, m), in (S, m) order."""
    cells: dict[tuple[int, int], list[RunRow]] = {}
    for r in rows:
        cells.setdefault((r.S, r.m), []).append(r)
    out = []
    for (S, m), rs in sorted(cells.items()):
        conv = [r for r in rs if r.gd_status == "converged"]
        out.append(CellStats(S=S, m=m, n=rs[0].n, eta_w=tuple(sorted({r.eta_w for r in rs if r.eta_w is not None})),
                             runs=len(rs), gd_ran=sum(r.T is not None for r in rs), converged=len(conv),
                             failed=sum(r.error is not None for r in rs),
                             **{q: _range([getattr(r, q) for r in conv]) for q in QUANTITIES}))
    return tuple(out)


# decimals shown in table.md per quantity (the paper prints T, D as integers, kappa_H with 2, W with 2)
TABLE_DECIMALS = {"T": 1, "kappa_H": 3, "D": 1, "W_distance": 2}
RANGE_DECIMALS = {"T": 0, "kappa_H": 3, "D": 0, "W_distance": 2}


def format_range(r: Range | None, quantity: str) -> str:
    """``min-max; mean`` as the paper's Table 1 prints it ("-" when nothing to aggregate)."""
    if r is None:
        return "-"
    d, dm = RANGE_DECIMALS[quantity], TABLE_DECIMALS[quantity]
    return f"{r.min:.{d}f}-{r.max:.{d}f}; {r.mean:.{dm}f}"


def table_markdown(cells: Sequence[CellStats]) -> str:
    """``table.md``: per (S, m) the min-max and mean of T, kappa_H, |D|, ||W_T - W_0||_F over the runs
    in which GD converged (the paper's Table 1 layout), with run and convergence counts."""
    lines = ["| S | m | eta_w | runs | GD ran | converged | failed | T | kappa_H | abs(D) | norm(W_T - W_0)_F |",
             "|---:|---:|---:|---:|---:|---:|---:|---|---|---|---|"]
    for c in cells:
        eta = ", ".join(f"{e:g}" for e in c.eta_w) or "-"
        lines.append(f"| {c.S} | {c.m} | {eta} | {c.runs} | {c.gd_ran} | {c.converged} | {c.failed} | "
                     + " | ".join(format_range(c.quantity(q), q) for q in QUANTITIES) + " |")
    return ("Ranges are `min-max; mean` over the runs in which gradient descent converged "
            "(as in the paper's Table 1).\n\n" + "\n".join(lines) + "\n")


@dataclass(frozen=True)
class Outputs:
    """What :func:`rebuild_outputs` wrote."""

    rows: tuple[RunRow, ...]
    cells: tuple[CellStats, ...]
    summary_csv: Path
    table_md: Path
    figures: tuple[Path, ...]
    figures_skipped: str | None


def figure_meta(rows: Sequence[RunRow]) -> dict:
    """What every figure's caption states: n, the rates, the number of runs and reps, the data set."""
    ok = [r for r in rows if r.error is None]
    reps = sorted({r.rep for r in ok if r.rep is not None})
    data = sorted({r.dataset for r in ok if r.dataset})
    return {"n": ok[0].n if ok else None, "eta_w": sorted({r.eta_w for r in ok}), "eta_z": sorted({r.eta_z for r in ok}),
            "runs": len(ok), "reps": len(reps) or None, "data": ", ".join(data) or None}


def constant_points(certs: dict[str, dict]) -> list[dict]:
    """One point per run for :func:`qrcheck.plots.draw_constants`: S, m, every property's empirical
    constant, and the random baseline's constants (each instance's statistic / g)."""
    pts = []
    for cert in certs.values():
        props = cert.get("properties", {})
        base = (cert.get("baseline") or {}).get("properties") or {}
        consts, bvals = {}, {}
        for eq in PROPERTY_EQS:
            r = props.get(eq) or {}
            g = (r.get("rule") or {}).get("g")
            consts[eq] = r.get("empirical_constant")
            if isinstance(g, (int, float)) and g:
                bvals[eq] = [v / g for v in (base.get(eq) or {}).get("values") or [] if v is not None]
        pts.append({"S": int(cert["parameters"]["S"]), "m": int(cert["parameters"]["m"]), "constants": consts,
                    "baseline": bvals})
    return pts


def rebuild_outputs(out_dir: str | Path, *, figures: bool = True, paper=None) -> Outputs:
    """Rebuild ``summary.csv``, ``table.md`` and ``figures/`` from ``out_dir/runs/`` alone (atomic
    writes). With ``paper`` (a :class:`qrcheck.paper.PaperTable`) the figures overlay the paper's
    means and ranges."""
    out_dir = Path(out_dir)
    rows, certs = collect(out_dir)
    cells = aggregate(rows)
    csv_path, md_path = out_dir / "summary.csv", out_dir / "table.md"
    write_atomic(csv_path, summary_csv(rows))
    write_atomic(md_path, table_markdown(cells))
    figs: tuple[Path, ...] = ()
    skipped = None
    if figures:
        try:
            from . import plots
        except ImportError:
            skipped = "matplotlib is not installed (pip install 'qrcheck[plots]')"
        else:
            trajectories = {}
            for run_id, cert in certs.items():
                traj = error_trajectory(cert)
                if traj is not None:
                    trajectories[run_id] = (int(cert["parameters"]["S"]), int(cert["parameters"]["m"]), *traj)
            meta = figure_meta(rows)
            figs = plots.draw_all(cells, trajectories, out_dir / "figures", paper=paper, meta=meta)
            points = constant_points(certs)
            if points:
                figs = figs + (plots.draw_constants(points, out_dir / "figures", meta),)
    return Outputs(rows, cells, csv_path, md_path, figs, skipped)
