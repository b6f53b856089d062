"""The deterministic phase: gradient descent (12) with separate rates eta_w, eta_z, in float64.

One step of (12) from theta_t = (W_t, z_t), with P = W X, A = 1(P > 0), F = relu(P), e = F^T z - y:
  W_{t+1} = W_t - eta_w (diag(z_t) A_t o 1 e_t^T) X^T,     z_{t+1} = z_t - eta_z F_t e_t.
Stops on success ||e_t|| < tol, on the safety valve ||e_t|| > ||e_{t-1}|| (or a non-finite
error), or at max_steps (CONTRACT). ``T`` is the number of steps taken.

The hot path is two GEMMs per step, S x n by n x m (P = W X) and S x m by m x n (the gradient),
plus O(Sm) elementwise work done in place in preallocated buffers:
  * the gradient is computed as diag(z) (A (X diag(e))^T): the row scaling by z and the column
    scaling by e act on the small factors (S x n and n x m); its 0/1 float64 copy of the mask A is
    updated in place at the step's flips only (a full bool-to-float copy costs 2-4x more);
  * for eta_z = 0, f = F^T z = (P^T z + |P|^T z)/2 (relu(p) = (p + |p|)/2 exactly in floating
    point), with P^T z = (W^T z)^T X costing O(nm); |P| is one in-place pass and one GEMV;
  * the activation-change bookkeeping is one boolean XOR with the previous mask, one OR into the
    accumulated set D and one count, on S x m bytes (per-neuron counts, uint16, only when the step
    flips more than n* pairs);
  * the regularity check (any exact zero of W_t X, Appendix A) is min |W_t X| = 0, one reduction
    over the |P| already computed (for eta_z > 0, one comparison pass).
With eta_z = 0 the step runs by default in row blocks of W, one per thread ("fused" mode): each
block forms its rows of A_t o 1 e_t^T from the boolean mask (in place of X diag(e), which every
block would read; with S > XE_ROWS_PER_N n, where S x m is the larger write, the calling thread
forms X diag(e) once and the sweep keeps the 0/1 mask at the flips), runs its two GEMMs at one BLAS thread, then, while its block of P is in cache,
one sweep over it that writes A and relu(P) = P o A (in
place of |P|) and finds the exact zeros, the flips, D and the per-neuron counts
(:mod:`qrcheck.gd_kernel`: compiled by numba when installed, else numpy passes, bitwise alike), and
one GEMV for the block's share of F^T z (no P^T z term). The final eigenvalues come from
:mod:`qrcheck.spectral` (matrix-free above DENSE_M_LIMIT: no m x m array); the reporting
(trajectory encoding, D's degrees and JSON, the graph) lives in :mod:`qrcheck.gd_report`.
benchmarks/bench_gd.py measures the cost of a step against two bare GEMMs (docs/gd.md).
"""

from __future__ import annotations

import functools
import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from typing import Callable

import numpy as np

from . import InputError, gd_kernel, model, spectral
from .gd_report import (ActivationChanges, activation_changes, encode_trajectory, norm_khatri_rao_change,
                        trajectory_stride)
# progress callbacks are throttled to one per this many seconds (and one at the start and end)
PROGRESS_INTERVAL = 0.1
# at most this many steps with exact zeros of W_t X are listed (all are counted)
SINGULAR_STEPS_LISTED = 20
# "auto" uses the fused row-block step only with at least this many rows (neurons) per block
FUSED_MIN_ROWS = 32
# "fused" shares X diag(e) (n x m) instead of building A o 1 e^T (S x m) when S > this times n
XE_ROWS_PER_N = 2


class GDStatus(str, Enum):
    """How (12) stopped (CONTRACT ``gd.status``)."""

    CONVERGED = "converged"   # ||e_T|| < tol
    DIVERGED = "diverged"     # safety valve: ||e_T|| > ||e_{T-1}||, or ||e_T|| not finite
    MAX_STEPS = "max_steps"   # T = max_steps without either

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


@dataclass(frozen=True)
class GDConfig:
    """Rates, stop rules and tracking of (12).

    eta_w, eta_z : learning rates of W and z, >= 0 with eta_w + eta_z > 0 (Theorem 2.3).
    tol : success when ||e_t|| < tol.
    max_steps : step limit.
    track_every : every this many steps (t = 0, k, 2k, ...) record lambda_min(H_t) and friends
        (:class:`Checkpoint`); 0 disables. Excluded from ``seconds_per_step``.
    """

    eta_w: float = 1e-3
    eta_z: float = 0.0
    tol: float = 1e-3
    max_steps: int = 100_000
    track_every: int = 0


@dataclass(frozen=True)
class Checkpoint:
    """The state of (12) at step t (``--track-every``).

    lambda_min_H : lambda_min(H_t), H_t = (X^T X) o (B_t^T B_t), B_t = diag(z_t) A_t (Section 3).
    lambda_min_G : lambda_min(G_t), G_t = F_t^T F_t; None when eta_z = 0 (G plays no role then).
    D : |D| up to step t; W_distance : ||W_t - W_0||_F; z_distance : ||z_t - z_0||; error : ||e_t||.
    """

    t: int
    error: float
    lambda_min_H: float
    lambda_min_G: float | None
    D: int
    W_distance: float
    z_distance: float

    def to_json(self) -> dict:
        return {"t": self.t, "error": self.error, "lambda_min_H": self.lambda_min_H,
                "lambda_min_G": self.lambda_min_G, "D": self.D, "W_distance": self.W_distance,
                "z_distance": self.z_distance}


@dataclass(frozen=True)
class GDResult:
    """Outcome of (12).

    errors : (T+1,) ||e_t|| for t = 0..T (float64).
    step_flips : (T,) number of pairs (nu, j) whose activation flipped in step t -> t+1.
    changed : (S, m) boolean, the set D; W_T (S, n), z_T (S,): the final parameters.
    lambda_min_G0, lambda_min_GT, kappa_G : lambda_min(G_0), lambda_min(G_T) and their ratio,
        computed only when eta_z > 0 (None otherwise).
    singular_points : number of exact zeros of W_t X over t = 0..T (Appendix A: none a.e.);
    singular_steps : the first steps t at which W_t X has an exact zero.
    seconds_per_step : mean wall time of one iteration of (12) with its bookkeeping, excluding
        eigenvalue computations; wall_seconds : the whole phase.
    phase_seconds : wall time of the phase's parts: ``loop`` (the T iterations), ``eigenvalues``
        (lambda_min's, norm_60, checkpoints), ``changes`` (the degrees of D), ``setup``.
    peak_rss_bytes : the process's peak resident memory at the end of the phase (getrusage).
    spectral : how each lambda_min was computed and its bounds (:class:`qrcheck.spectral.Extreme`
        as JSON, keys ``H0``, ``HT``, ``G0``, ``GT``); ``H0`` is ``{"method": "given"}`` when the
        caller passed lambda_min(H0).
    status : how (12) stopped, a :class:`GDStatus` (a ``str`` Enum, so it compares equal to the
        CONTRACT string); :attr:`outcome` returns it too.
    """

    status: GDStatus
    T: int
    final_error: float
    errors: np.ndarray = field(repr=False)
    D: int
    W_distance: float
    z_distance: float
    lambda_min_H0: float
    lambda_min_HT: float
    kappa_H: float
    wall_seconds: float
    seconds_per_step: float
    singular_points: int
    eta_w: float = 0.0
    eta_z: float = 0.0
    tol: float = 0.0
    lambda_min_G0: float | None = None
    lambda_min_GT: float | None = None
    kappa_G: float | None = None
    singular_steps: tuple[int, ...] = ()
    checkpoints: tuple[Checkpoint, ...] = ()
    track_every: int = 0
    changes: ActivationChanges | None = None
    step_flips: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False)
    changed: np.ndarray | None = field(default=None, repr=False)
    W_T: np.ndarray | None = field(default=None, repr=False)
    z_T: np.ndarray | None = field(default=None, repr=False)
    phase_seconds: dict = field(default_factory=dict)
    peak_rss_bytes: int | None = None
    spectral: dict = field(default_factory=dict)

    @property
    def outcome(self) -> GDStatus:
        return GDStatus(self.status)

    def to_json(self) -> dict:
        stride = trajectory_stride(self.T)
        listed = self.errors[::stride]
        if self.T % stride:
            listed = np.append(listed, self.errors[-1])
        return {"ran": True, "status": self.status.value, "T": self.T, "final_error": self.final_error,
                "kappa_H": self.kappa_H, "D": self.D, "W_distance": self.W_distance,
                "z_distance": self.z_distance, "wall_seconds": self.wall_seconds,
                "seconds_per_step": self.seconds_per_step, "lambda_min_H0": self.lambda_min_H0,
                "lambda_min_HT": self.lambda_min_HT, "singular_points": self.singular_points,
                "singular_steps": list(self.singular_steps),
                "lambda_min_G0": self.lambda_min_G0, "lambda_min_GT": self.lambda_min_GT,
                "kappa_G": self.kappa_G, "initial_error": float(self.errors[0]),
                "error_trajectory": [float(v) for v in listed],
                "error_trajectory_stride": stride,
                "error_trajectory_f32": encode_trajectory(self.errors),
                "track_every": self.track_every,
                "checkpoints": [c.to_json() for c in self.checkpoints],
                "changes": None if self.changes is None else self.changes.to_json(),
                "phase_seconds": dict(self.phase_seconds), "peak_rss_bytes": self.peak_rss_bytes,
                "spectral": dict(self.spectral)}


def peak_rss_bytes() -> int | None:
    """The process's peak resident set size in bytes (``resource.getrusage``; None where the
    module is missing). Linux reports kilobytes, macOS bytes."""
    try:
        import resource
        import sys
    except ImportError:  # pragma: no cover - Windows
        return None
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss if sys.platform == "darwin" else rss * 1024)


def error_norm(e: np.ndarray) -> float:
    """||e||: ``sqrt(e @ e)``, rescaled by max |e_j| when the sum of squares overflows but the norm
    does not (an e of entries near 1e200); inf or NaN only when e itself is not finite."""
    with np.errstate(over="ignore", invalid="ignore"):   # an overflowing sum is rescaled below
        r = math.sqrt(e @ e)
    if math.isfinite(r):
        return r
    s = float(np.max(np.abs(e)))
    if not (math.isfinite(s) and s > 0):
        return s
    return s * math.sqrt((e / s) @ (e / s))


def _check_inputs(X, W0, z0, y, cfg: GDConfig) -> tuple[np.ndarray, ...]:
    X, W0, z0, y = (np.ascontiguousarray(a, dtype=np.float64) for a in (X, W0, z0, y))
    if X.ndim != 2 or W0.ndim != 2 or z0.ndim != 1 or y.ndim != 1:
        raise InputError("run_gd: X and W0 must be 2-d, z0 and y 1-d")
    n, m = X.shape
    if W0.shape[1] != n or z0.shape[0] != W0.shape[0] or y.shape[0] != m:
        raise InputError(f"run_gd: inconsistent shapes X {X.shape}, W0 {W0.shape}, z0 {z0.shape}, y {y.shape}")
    for name in ("eta_w", "eta_z", "tol"):
        v = getattr(cfg, name)
        if not math.isfinite(v) or v < 0:
            raise InputError(f"{name} must be a finite number >= 0, got {v}")
    if cfg.eta_w + cfg.eta_z <= 0:
        raise InputError("eta_w + eta_z must be > 0 (Theorem 2.3)")
    if cfg.max_steps < 0 or cfg.track_every < 0:
        raise InputError("max_steps and track_every must be >= 0")
    return X, W0, z0, y


def run_gd(X: np.ndarray, W0: np.ndarray, z0: np.ndarray, y: np.ndarray, cfg: GDConfig,
           progress: Callable[[int, float], None] | None = None, *, n_star: int | None = None,
           lambda_min_H0: float | None = None, dense_limit: int = spectral.DENSE_M_LIMIT,
           mode: str = "auto", threads: int | None = None, kernel: str = "auto",
           eigenvalues: bool = True) -> GDResult:
    """Run (12) from theta_0 = (W0, z0) on X (n, m), W0 (S, n), z0 (S,), labels y (m,).

    progress(t, ||e_t||) is called at t = 0, about every PROGRESS_INTERVAL seconds, and at the end.
    n_star : the n* of (21) for Gamma = {nu : |D_nu| <= n*} (Appendix F); default n (the O~(n)
    with no logarithm). lambda_min_H0 : lambda_min(H_0) when the caller has it (verify shares the
    value of (29)'s details; it is not recomputed). dense_limit : above this m no m x m matrix is
    formed (:data:`qrcheck.spectral.DENSE_M_LIMIT`; tests lower it to force the matrix-free path).
    mode : how a step's work is spread over cores (docs/gd.md, "The hot path"): "serial" (numpy
    calls on whole arrays, BLAS threads as they are), "fused" (the step in row blocks of W, one per
    thread, each block's two GEMMs at one BLAS thread followed by its elementwise passes while its
    block of P is in cache), "split" (whole-array GEMMs, then the elementwise passes in row blocks in
    threads), or "auto" ("fused" when eta_z = 0 and more than one core and S >= 2 FUSED_MIN_ROWS,
    else "serial"). threads : row blocks (threads) of "fused"/"split", default min(2, cores).
    kernel : the elementwise sweep of "fused"/"split" (:mod:`qrcheck.gd_kernel`): "numba", "numpy",
    or "auto" (numba when installed); the two give bitwise the same run, and numba's compilation
    (or cache load) counts in ``phase_seconds["setup"]``. The modes agree with each other to
    rounding (in row blocks the GEMMs and the output F^T z sum in another order; docs/gd.md).
    eigenvalues : False skips the final lambda_min's and (60)'s norm (NaN in the result, ``spectral``
    empty; benchmarks/bench_gd.py times the loop only).
    Raises :class:`qrcheck.InputError` on inconsistent inputs or rates.
    """
    t_start = time.perf_counter()
    X, W0, z0, y = _check_inputs(X, W0, z0, y, cfg)
    n, m = X.shape
    S = W0.shape[0]
    eta_w, eta_z = float(cfg.eta_w), float(cfg.eta_z)
    n_star = n if n_star is None else int(n_star)
    # per-neuron flip counts (<= m) summed in the narrowest exact type: uint16 sums are ~4x faster
    flip_count_dtype = np.uint16 if m < 2**16 else np.int64
    W, z = W0.copy(), z0.copy()

    # preallocated buffers: the loop allocates nothing of size S x m
    P = np.empty((S, m))                    # W_t X, then |W_t X| (eta_z = 0)
    A = np.empty((S, m), dtype=bool)        # A_t
    A_prev = np.empty((S, m), dtype=bool)   # A_{t-1}
    scratch = np.empty((S, m), dtype=bool)  # exact zeros, then flips
    changed = np.zeros((S, m), dtype=bool)  # D
    Af = np.empty((S, m))                   # A_t as 0/1 float64 for the gradient GEMM ("fused": A_t o 1 e_t^T)
    F = np.empty((S, m)) if eta_z > 0 else None
    Xe = np.empty((n, m))                   # X diag(e_t)
    G = np.empty((S, n))                    # the W-gradient, then its step
    zw = np.empty(S)
    f = np.empty(m)
    e = np.empty(m)

    def evaluate(A_out: np.ndarray) -> int:
        """P, A, f, e at the current (W, z); returns the number of exact zeros of W X."""
        np.matmul(W, X, out=P)
        np.greater(P, 0.0, out=A_out)
        if F is not None:
            zeros = int(np.count_nonzero(scratch)) if np.equal(P, 0.0, out=scratch).any() else 0
            np.maximum(P, 0.0, out=F)
            np.matmul(z, F, out=f)                      # F^T z
        else:
            np.matmul(z @ W, X, out=f)                  # P^T z = (W^T z)^T X
            np.abs(P, out=P)
            # W X has an exact zero iff min |W X| = 0 (a reduction, cheaper than a comparison pass)
            zeros = int(np.count_nonzero(np.equal(P, 0.0, out=scratch))) if P.min() == 0.0 else 0
            np.add(f, z @ P, out=f)                     # + |P|^T z
            np.multiply(f, 0.5, out=f)                  # F^T z = (P^T z + |P|^T z) / 2
        np.subtract(f, y, out=e)
        return zeros

    threads = max(1, min(2, os.cpu_count() or 1) if threads is None else int(threads))
    if mode == "auto":
        mode = "fused" if (eta_z == 0 and threads > 1 and S >= 2 * FUSED_MIN_ROWS) else "serial"
    if mode not in ("serial", "fused", "split"):
        raise InputError(f"run_gd: mode must be auto, serial, fused or split, got {mode!r}")
    if eta_z > 0 or eta_w == 0:
        mode = "serial"                                 # the blocked step covers eta_z = 0 only
    bounds = np.linspace(0, S, threads + 1).astype(int)
    rows = [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    XeT = Xe.T
    gd_kernel.validate(kernel)
    kern = gd_kernel.select(kernel) if mode != "serial" else None   # numba imported only if used
    # "fused" builds each block's A_T o 1 e_T^T (S_r x m) when S <= XE_ROWS_PER_N n; with more
    # neurons per input dimension it shares X diag(e_T) (n x m, cheaper than S x m) and keeps the
    # 0/1 mask Af, updated at the flips by the sweep (docs/gd.md, "The hot path")
    use_xe = mode == "fused" and S > XE_ROWS_PER_N * n
    keep_mask = mode == "split" or use_xe
    if kern is not None:
        gd_kernel.warm_up(kern, keep_mask=keep_mask)   # numba's compilation goes to setup
    f_parts = np.empty((len(rows), m))                  # z_r^T F_r of each row block
    XT = X.T

    def block_step(b: int, A_new: np.ndarray, A_old: np.ndarray, gemms: bool) -> tuple[int, int, int]:
        """Row block b of one step (eta_z = 0): ("fused") its rows of A_T o 1 e_T^T, the gradient
        and update of W_r, P_r = W_r X; then one sweep (mask, relu, exact zeros, flips, D, per-neuron
        counts; "split": the 0/1 mask too) and z_r^T F_r into f_parts[b]. Returns (zeros, flips,
        neurons over n*)."""
        r = rows[b]
        Pr = P[r]
        if gemms:
            Gr, Wr, Ar = G[r], W[r], Af[r]
            if use_xe:
                np.matmul(Ar, XeT, out=Gr)              # A_T (X diag(e_T))^T, rows r (Af: the 0/1 mask)
            else:
                kern.masked_scale(A_old[r], e, Ar)      # A_T o 1 e_T^T, rows r, in this core's cache
                np.matmul(Ar, XT, out=Gr)               # (A_T o 1 e_T^T) X^T, rows r
            np.multiply(Gr, zw[r, None], out=Gr)
            np.add(Wr, Gr, out=Wr)
            np.matmul(Wr, X, out=Pr)
        counts = kern.sweep(Pr, A_new[r], A_old[r], Af[r] if keep_mask else None, changed[r], scratch[r], n_star)
        np.matmul(z[r], Pr, out=f_parts[b])             # z_r^T F_r while F_r is in cache
        return counts

    # the pool's threads are run_gd's own: overflow is a result there too (numpy's error state is
    # per thread, so the loop's errstate does not reach them)
    quiet = functools.partial(np.seterr, over="ignore", invalid="ignore")
    pool = ThreadPoolExecutor(len(rows) - 1, initializer=quiet) if mode != "serial" and len(rows) > 1 else None
    limiter = None
    if mode == "fused" and pool is not None:
        from threadpoolctl import threadpool_limits

        limiter = threadpool_limits(limits=1, user_api="blas")   # restored after the loop

    def serial_step(A_new: np.ndarray, A_old: np.ndarray) -> tuple[int, int, int]:
        """One step of (12) on whole arrays: theta_T -> theta_{T+1}, then P, A_new, f, e and the
        bookkeeping at T+1 (A_old = A_T). Returns (exact zeros, flips, neurons with more than n*)."""
        if eta_z > 0:
            gz = F @ e                                  # F_T e_T (before z moves)
        if eta_w > 0:
            np.multiply(X, e, out=Xe)                   # X diag(e_T)
            np.matmul(Af, XeT, out=G)                   # (A_T o 1 e_T^T) X^T
            np.multiply(z, -eta_w, out=zw)
            np.multiply(G, zw[:, None], out=G)          # -eta_w diag(z_T) (A_T o 1 e_T^T) X^T
            np.add(W, G, out=W)
        if eta_z > 0:
            np.subtract(z, eta_z * gz, out=z)
        zeros = evaluate(A_new)
        np.not_equal(A_new, A_old, out=scratch)         # flips of step T -> T+1
        np.copyto(Af, A_new, where=scratch)             # Af = A_{T+1}: only the flips change
        np.bitwise_or(changed, scratch, out=changed)
        k = int(np.count_nonzero(scratch))
        # only when more than n* pairs flip can one neuron exceed n*
        over = int(np.count_nonzero(scratch.sum(axis=1, dtype=flip_count_dtype) > n_star)) if k > n_star else 0
        return zeros, k, over

    def blocked_step(A_new: np.ndarray, A_old: np.ndarray) -> tuple[int, int, int]:
        """serial_step for eta_z = 0 in row blocks (``mode`` "fused" or "split")."""
        np.multiply(z, -eta_w, out=zw)
        gemms = mode == "fused"
        if use_xe:
            np.multiply(X, e, out=Xe)                   # X diag(e_T), n x m, before the blocks start
        if not gemms:
            np.multiply(X, e, out=Xe)                   # X diag(e_T)
            np.matmul(Af, XeT, out=G)
            np.multiply(G, zw[:, None], out=G)
            np.add(W, G, out=W)
            np.matmul(W, X, out=P)
        futures = [pool.submit(block_step, b, A_new, A_old, gemms) for b in range(1, len(rows))] if pool else []
        parts = [block_step(0, A_new, A_old, gemms)] + [fu.result() for fu in futures]
        np.sum(f_parts, axis=0, out=f)                  # F^T z, the blocks in order
        np.subtract(f, y, out=e)
        return tuple(sum(p[i] for p in parts) for i in range(3))

    zeros = evaluate(A)
    A0 = A.copy()
    np.copyto(Af, A)
    singular_points = zeros
    singular_steps = [0] if zeros else []
    err = error_norm(e)
    errors = [err]
    step_flips: list[int] = []
    max_step_co_Gamma = steps_over_n_star = 0
    checkpoints: list[Checkpoint] = []
    eig_seconds = 0.0

    def checkpoint(t: int) -> None:
        nonlocal eig_seconds
        t0 = time.perf_counter()
        lam_G = spectral.lambda_min_G(F, dense_limit=dense_limit).value if F is not None else None
        checkpoints.append(Checkpoint(t, err, spectral.lambda_min_H(X, z, A, dense_limit=dense_limit).value, lam_G,
                                      int(np.count_nonzero(changed)), float(np.linalg.norm(W - W0)),
                                      float(np.linalg.norm(z - z0))))
        eig_seconds += time.perf_counter() - t0

    if cfg.track_every:
        checkpoint(0)
    if progress is not None:
        progress(0, err)
    t_setup = time.perf_counter() - eig_seconds        # checkpoint(0) counts as eigenvalue work
    last_report = time.perf_counter()

    T, loop_seconds = 0, 0.0
    status = GDStatus.MAX_STEPS
    try:
        # an overflowing run is a result (the safety valve, status diverged), not a RuntimeWarning
        with np.errstate(over="ignore", invalid="ignore"):
            while True:
                if err < cfg.tol:
                    status = GDStatus.CONVERGED
                    break
                if T >= cfg.max_steps:
                    break
                t0 = time.perf_counter()
                A, A_prev = A_prev, A
                if mode != "serial":
                    zeros, k, over = blocked_step(A, A_prev)
                else:
                    zeros, k, over = serial_step(A, A_prev)
                if zeros:
                    singular_points += zeros
                    if len(singular_steps) < SINGULAR_STEPS_LISTED:
                        singular_steps.append(T + 1)
                step_flips.append(k)
                if over:
                    steps_over_n_star += 1
                    max_step_co_Gamma = max(max_step_co_Gamma, over)
                T += 1
                prev, err = err, error_norm(e)
                errors.append(err)
                loop_seconds += time.perf_counter() - t0
                if cfg.track_every and T % cfg.track_every == 0:
                    checkpoint(T)
                if progress is not None and time.perf_counter() - last_report >= PROGRESS_INTERVAL:
                    progress(T, err)
                    last_report = time.perf_counter()
                if not err <= prev or not math.isfinite(err):   # safety valve; NaN / inf: overflowed
                    status = GDStatus.DIVERGED
                    break
    finally:
        if limiter is not None:
            limiter.restore_original_limits()
        if pool is not None:
            pool.shutdown()
    if progress is not None:
        progress(T, err)

    # eigenvalue computations (excluded from seconds_per_step)
    t_eig = time.perf_counter()
    del P, A_prev, scratch, Af, Xe                      # free S x m buffers before the eigen work
    eig = {}
    lam0 = math.nan if lambda_min_H0 is None else float(lambda_min_H0)
    lamT = norm_60 = math.nan
    lamG0 = lamGT = kappa_G = None
    if eigenvalues:
        if lambda_min_H0 is None:
            eig["H0"] = spectral.lambda_min_H(X, z0, A0, dense_limit=dense_limit)
            lam0 = eig["H0"].value
        eig["HT"] = spectral.lambda_min_H(X, z, A, dense_limit=dense_limit,    # warm start from H_0's vector
                                          v0=eig["H0"].vector if "H0" in eig else None)
        lamT = eig["HT"].value
        if eta_z > 0:
            eig["G0"] = spectral.lambda_min_G(model.features(W0 @ X), dense_limit=dense_limit)
            eig["GT"] = spectral.lambda_min_G(F, dense_limit=dense_limit)
            lamG0, lamGT = eig["G0"].value, eig["GT"].value
            kappa_G = lamGT / lamG0 if lamG0 > 0 else math.nan
        norm_60 = norm_khatri_rao_change(X, A0, A, dense_limit=dense_limit)
    t_changes = time.perf_counter()
    flips = np.asarray(step_flips, dtype=np.int64)
    changes = activation_changes(changed, n, n_star, flips, max_step_co_Gamma, steps_over_n_star, norm_60)
    D = int(np.count_nonzero(changed))
    t_end = time.perf_counter()
    phases = {"setup": t_setup - t_start, "loop": loop_seconds,
              "eigenvalues": (t_changes - t_eig) + eig_seconds, "changes": t_end - t_changes}
    spec = {k: v.to_json() for k, v in eig.items()}
    if lambda_min_H0 is not None:
        spec["H0"] = {"method": "given", "value": lam0}
    return GDResult(status=status, T=T, final_error=errors[-1], errors=np.asarray(errors), D=D,
                    W_distance=error_norm((W - W0).ravel()), z_distance=error_norm(z - z0),
                    lambda_min_H0=lam0, lambda_min_HT=lamT, kappa_H=lamT / lam0 if lam0 > 0 else math.nan,
                    wall_seconds=time.perf_counter() - t_start,
                    seconds_per_step=loop_seconds / T if T else 0.0, singular_points=singular_points,
                    eta_w=eta_w, eta_z=eta_z, tol=float(cfg.tol), lambda_min_G0=lamG0,
                    lambda_min_GT=lamGT, kappa_G=kappa_G, singular_steps=tuple(singular_steps),
                    checkpoints=tuple(checkpoints), track_every=int(cfg.track_every), changes=changes,
                    step_flips=flips, changed=changed, W_T=W, z_T=z, phase_seconds=phases,
                    peak_rss_bytes=peak_rss_bytes(), spectral=spec)
