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
benchmarks/bench_gd.py measures the cost of a step against two bare GEMMs (docs/gd.md).
"""

from __future__ import annotations

import base64
import math
import time
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Callable

import numpy as np

from . import InputError, model

# at most this many points of the error trajectory go into the JSON list (the full trajectory
# is stored as base64 float32 next to it, docs/gd.md)
TRAJECTORY_POINTS = 1000
# progress callbacks are throttled to one per this many seconds (and one at the start and end)
PROGRESS_INTERVAL = 0.1
# at most this many steps with exact zeros of W_t X are listed (all are counted)
SINGULAR_STEPS_LISTED = 20


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
class ActivationChanges:
    """The activation-change set D of Appendix D as a bipartite graph, neurons vs data points.

    D = {(nu, j) : sigma'((W_t)_nu X^j) != sigma'((W_0)_nu X^j) for some t <= T} (S x m boolean
    ``changed``); D^j = {nu : (nu, j) in D}, D_nu = {j : (nu, j) in D}.

    data_degrees : (m,) |D^j|;  neuron_degrees : (S,) |D_nu|.
    J : the min(m, n) data points of largest |D^j| (ties broken by the smaller index), in
        decreasing degree (Appendix D).
    s_low, s_high : every s with s_high = min_{j in J} |D^j| >= s >= max_{j not in J} |D^j| = s_low
        works in (62) (s_low = 0 when J = [m]).
    n_star : the n* of (21) used for Gamma; Gamma = {nu : |D_nu| <= n*} (Appendix F).
    co_Gamma : |[S] minus Gamma| for the accumulated D.
    max_step_flips : the largest number of pairs whose activation flipped in one step.
    max_step_co_Gamma : Appendix F takes D = supp(A_t - A_tau) within one step; the largest
        number of neurons with more than n* flips in one step.
    steps_over_n_star : the steps in which some neuron flipped more than n* activations.
    norm_60 : ||(A_T - A_0) * X||, the spectral norm of the Khatri-Rao product in (60), computed
        as lambda_max((X^T X) o (Delta^T Delta))^{1/2}, Delta = A_T - A_0 (identity (7)).
    """

    data_degrees: np.ndarray = field(repr=False)
    neuron_degrees: np.ndarray = field(repr=False)
    J: np.ndarray = field(repr=False)
    s_low: int
    s_high: int
    n_star: int
    co_Gamma: int
    max_step_flips: int
    max_step_co_Gamma: int
    steps_over_n_star: int
    norm_60: float

    @property
    def D(self) -> int:
        return int(self.data_degrees.sum())

    @property
    def max_data_degree(self) -> int:
        """max_j |D^j| (Appendix D proves max_{j in J} |D^j| <= o~(S))."""
        return int(self.data_degrees.max(initial=0))

    @property
    def max_neuron_degree(self) -> int:
        return int(self.neuron_degrees.max(initial=0))

    def to_json(self) -> dict:
        return {"D": self.D, "max_data_degree": self.max_data_degree,
                "mean_data_degree": float(self.data_degrees.mean()) if self.data_degrees.size else 0.0,
                "max_neuron_degree": self.max_neuron_degree,
                "mean_neuron_degree": float(self.neuron_degrees.mean()) if self.neuron_degrees.size else 0.0,
                "J": [int(j) for j in self.J], "s_low": self.s_low, "s_high": self.s_high,
                "n_star": self.n_star, "Gamma": int(self.neuron_degrees.size - self.co_Gamma),
                "co_Gamma": self.co_Gamma, "max_step_flips": self.max_step_flips,
                "max_step_co_Gamma": self.max_step_co_Gamma, "steps_over_n_star": self.steps_over_n_star,
                "norm_60": self.norm_60}


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
    status : the CONTRACT string (a :class:`GDStatus` value, kept a plain ``str`` so that
        certificates and replays compare it as such); :attr:`outcome` is the Enum.
    """

    status: str
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

    @property
    def outcome(self) -> GDStatus:
        return GDStatus(self.status)

    def to_json(self) -> dict:
        stride = trajectory_stride(self.T)
        listed = self.errors[::stride]
        if self.T % stride:
            listed = np.append(listed, self.errors[-1])
        return {"ran": True, "status": self.status, "T": self.T, "final_error": self.final_error,
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
                "changes": None if self.changes is None else self.changes.to_json()}


def trajectory_stride(T: int) -> int:
    """Stride of the JSON list ``error_trajectory``: 1 up to T = TRAJECTORY_POINTS, then
    ceil(T / TRAJECTORY_POINTS), so the list has at most TRAJECTORY_POINTS + 2 entries."""
    return max(1, math.ceil(T / TRAJECTORY_POINTS))


def encode_trajectory(errors: np.ndarray) -> dict:
    """The full trajectory ||e_t||, t = 0..T, as base64 of little-endian float32 (4(T+1) bytes)."""
    a = np.ascontiguousarray(errors, dtype="<f4")
    return {"encoding": "base64", "dtype": "<f4", "length": int(a.size),
            "data": base64.b64encode(a.tobytes()).decode("ascii")}


def decode_trajectory(obj: dict) -> np.ndarray:
    """Inverse of :func:`encode_trajectory` (float64 array of length ``obj['length']``).

    Raises :class:`qrcheck.InputError` when the object is malformed."""
    try:
        if obj["encoding"] != "base64" or obj["dtype"] != "<f4":
            raise ValueError("unsupported encoding")
        a = np.frombuffer(base64.b64decode(obj["data"], validate=True), dtype="<f4")
        if a.size != int(obj["length"]):
            raise ValueError("length mismatch")
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"malformed error_trajectory_f32 ({exc})") from None
    return a.astype(np.float64)


def paper_eta_w(S: int, m: int) -> float:
    """The first-layer rate of the paper's Section 4 (Table 1): 1e-3, except 5e-4 for S = 500 and
    2e-4 for S = 1000 when m >= 900 (eta_z = 0 throughout)."""
    if m >= 900 and S == 500:
        return 5e-4
    if m >= 900 and S == 1000:
        return 2e-4
    return 1e-3


def lambda_max(M: np.ndarray) -> float:
    """Largest eigenvalue of a symmetric matrix (numpy.linalg.eigvalsh, like model.lambda_min:
    numpy's BLAS, not scipy's second OpenBLAS whose idle threads would spin against numpy's)."""
    return float(np.linalg.eigvalsh(M)[-1])


def norm_khatri_rao_change(X: np.ndarray, A0: np.ndarray, AT: np.ndarray) -> float:
    """||(A_T - A_0) * X||, X (n, m), A0, AT (S, m) boolean: by (7) its square is
    lambda_max((X^T X) o (Delta^T Delta)), Delta = A_T - A_0; the Sn x m product is never formed."""
    Delta = AT.astype(np.float64) - A0.astype(np.float64)
    if not Delta.any():
        return 0.0
    return math.sqrt(max(lambda_max(model.khatri_rao_gram(Delta, X)), 0.0))


def activation_changes(changed: np.ndarray, n: int, n_star: int, step_flips: np.ndarray,
                       max_step_co_Gamma: int, steps_over_n_star: int, norm_60: float) -> ActivationChanges:
    """Degrees |D^j|, |D_nu|, the set J and the interval of s in (62), and Gamma (Appendix F).

    changed : (S, m) boolean D; n : input dimension (|J| = min(m, n)); n_star : n* of (21);
    step_flips : (T,) flips per step; the last three arguments come from :func:`run_gd`.
    """
    S, m = changed.shape
    data_deg = np.count_nonzero(changed, axis=0).astype(np.int64)
    neuron_deg = np.count_nonzero(changed, axis=1).astype(np.int64)
    k = min(m, n)
    order = np.lexsort((np.arange(m), -data_deg))      # decreasing degree, then increasing index
    J = order[:k]
    s_high = int(data_deg[J].min()) if k else 0
    s_low = int(data_deg[order[k:]].max()) if k < m else 0
    return ActivationChanges(
        data_degrees=data_deg, neuron_degrees=neuron_deg, J=J, s_low=s_low, s_high=s_high,
        n_star=int(n_star), co_Gamma=int(np.count_nonzero(neuron_deg > n_star)),
        max_step_flips=int(step_flips.max(initial=0)), max_step_co_Gamma=int(max_step_co_Gamma),
        steps_over_n_star=int(steps_over_n_star), norm_60=float(norm_60))


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
           progress: Callable[[int, float], None] | None = None, *, n_star: int | None = None) -> GDResult:
    """Run (12) from theta_0 = (W0, z0) on X (n, m), W0 (S, n), z0 (S,), labels y (m,).

    progress(t, ||e_t||) is called at t = 0, about every PROGRESS_INTERVAL seconds, and at the end.
    n_star : the n* of (21) for Gamma = {nu : |D_nu| <= n*} (Appendix F); default n (the O~(n)
    with no logarithm). Raises :class:`qrcheck.InputError` on inconsistent inputs or rates.
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
    Af = np.empty((S, m))                   # A_t as 0/1 float64 for the gradient GEMM
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

    zeros = evaluate(A)
    A0 = A.copy()
    np.copyto(Af, A)
    singular_points = zeros
    singular_steps = [0] if zeros else []
    err = float(math.sqrt(e @ e))
    errors = [err]
    step_flips: list[int] = []
    max_step_co_Gamma = steps_over_n_star = 0
    checkpoints: list[Checkpoint] = []
    eig_seconds = 0.0

    def checkpoint(t: int) -> None:
        nonlocal eig_seconds
        t0 = time.perf_counter()
        lam_G = model.lambda_min(model.G_matrix(F)) if F is not None else None
        checkpoints.append(Checkpoint(t, err, model.lambda_min(model.H_matrix(X, z, A)), lam_G,
                                      int(np.count_nonzero(changed)), float(np.linalg.norm(W - W0)),
                                      float(np.linalg.norm(z - z0))))
        eig_seconds += time.perf_counter() - t0

    if cfg.track_every:
        checkpoint(0)
    if progress is not None:
        progress(0, err)
    last_report = time.perf_counter()

    T, loop_seconds = 0, 0.0
    status = GDStatus.MAX_STEPS
    while True:
        if err < cfg.tol:
            status = GDStatus.CONVERGED
            break
        if T >= cfg.max_steps:
            break
        t0 = time.perf_counter()
        # gradient at theta_T (uses z_T and F_T before z moves)
        if eta_z > 0:
            gz = F @ e                                  # F_T e_T
        if eta_w > 0:
            np.multiply(X, e, out=Xe)                   # X diag(e_T)
            np.matmul(Af, Xe.T, out=G)                  # (A_T o 1 e_T^T) X^T
            np.multiply(z, -eta_w, out=zw)
            G *= zw[:, None]                            # -eta_w diag(z_T) (A_T o 1 e_T^T) X^T
            W += G
        if eta_z > 0:
            z -= eta_z * gz
        A, A_prev = A_prev, A
        zeros = evaluate(A)
        if zeros:
            singular_points += zeros
            if len(singular_steps) < SINGULAR_STEPS_LISTED:
                singular_steps.append(T + 1)
        np.not_equal(A, A_prev, out=scratch)            # flips of step T -> T+1
        np.copyto(Af, A, where=scratch)                 # Af = A_{T+1}: only the flips change
        np.bitwise_or(changed, scratch, out=changed)
        k = int(np.count_nonzero(scratch))
        step_flips.append(k)
        if k > n_star:                                  # only then can one neuron exceed n*
            over = int(np.count_nonzero(scratch.sum(axis=1, dtype=flip_count_dtype) > n_star))
            if over:
                steps_over_n_star += 1
                max_step_co_Gamma = max(max_step_co_Gamma, over)
        T += 1
        prev, err = err, float(math.sqrt(e @ e))
        errors.append(err)
        loop_seconds += time.perf_counter() - t0
        if cfg.track_every and T % cfg.track_every == 0:
            checkpoint(T)
        if progress is not None and time.perf_counter() - last_report >= PROGRESS_INTERVAL:
            progress(T, err)
            last_report = time.perf_counter()
        if not err <= prev:                             # safety valve (and NaN / inf)
            status = GDStatus.DIVERGED
            break
    if progress is not None:
        progress(T, err)

    # eigenvalue computations (excluded from seconds_per_step)
    lam0 = model.lambda_min(model.H_matrix(X, z0, A0))
    lamT = model.lambda_min(model.H_matrix(X, z, A))
    lamG0 = lamGT = kappa_G = None
    if eta_z > 0:
        lamG0 = model.lambda_min(model.G_matrix(model.features(W0 @ X)))
        lamGT = model.lambda_min(model.G_matrix(F))
        kappa_G = lamGT / lamG0 if lamG0 > 0 else math.nan
    flips = np.asarray(step_flips, dtype=np.int64)
    changes = activation_changes(changed, n, n_star, flips, max_step_co_Gamma, steps_over_n_star,
                                 norm_khatri_rao_change(X, A0, A))
    D = int(np.count_nonzero(changed))
    return GDResult(status=status.value, T=T, final_error=errors[-1], errors=np.asarray(errors), D=D,
                    W_distance=float(np.linalg.norm(W - W0)), z_distance=float(np.linalg.norm(z - z0)),
                    lambda_min_H0=lam0, lambda_min_HT=lamT, kappa_H=lamT / lam0 if lam0 > 0 else math.nan,
                    wall_seconds=time.perf_counter() - t_start,
                    seconds_per_step=loop_seconds / T if T else 0.0, singular_points=singular_points,
                    eta_w=eta_w, eta_z=eta_z, tol=float(cfg.tol), lambda_min_G0=lamG0,
                    lambda_min_GT=lamGT, kappa_G=kappa_G, singular_steps=tuple(singular_steps),
                    checkpoints=tuple(checkpoints), track_every=int(cfg.track_every), changes=changes,
                    step_flips=flips, changed=changed, W_T=W, z_T=z)


def change_graph(changed: np.ndarray):
    """D as a networkx bipartite graph: nodes ``nu<k>`` (neurons, bipartite=0) and ``x<j>`` (data
    points, bipartite=1), an edge per pair (nu, j) in D. changed : (S, m) boolean.

    networkx is the optional extra ``graph``; raises :class:`qrcheck.InputError` when missing."""
    try:
        import networkx as nx
    except ImportError:
        raise InputError("--export-graph needs networkx: pip install 'qrcheck[graph]'") from None
    S, m = changed.shape
    g = nx.Graph(name="activation changes D (Appendix D)")
    g.add_nodes_from((f"nu{k}", {"bipartite": 0, "kind": "neuron", "index": k}) for k in range(S))
    g.add_nodes_from((f"x{j}", {"bipartite": 1, "kind": "data", "index": j}) for j in range(m))
    rows, cols = np.nonzero(changed)
    g.add_edges_from((f"nu{k}", f"x{j}") for k, j in zip(rows.tolist(), cols.tolist()))
    return g


def write_change_graph(changed: np.ndarray, path: str | Path) -> None:
    """Write :func:`change_graph` as GraphML at ``path`` atomically (nothing half-written)."""
    from .certificate import write_atomic

    g = change_graph(changed)
    import networkx as nx

    write_atomic(path, "\n".join(nx.generate_graphml(g)) + "\n")
