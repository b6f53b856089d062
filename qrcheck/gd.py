"""The deterministic phase: gradient descent (12) with separate rates eta_w, eta_z, in float64.

  W <- W - eta_w (diag(z) A o 1 e^T) X^T,     z <- z - eta_z F e,
with P = W X, A = 1(P > 0), F = relu(P), e = F^T z - y (CONTRACT). Each step is two GEMMs
(S x n by n x m, and S x m by m x n) plus O(Sm) elementwise work.
Stops on success ||e_t|| < tol, on the safety valve ||e_t|| > ||e_{t-1}||, or at max_steps.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from . import model


@dataclass(frozen=True)
class GDConfig:
    eta_w: float = 1e-3
    eta_z: float = 0.0
    tol: float = 1e-3
    max_steps: int = 100_000


@dataclass(frozen=True)
class GDResult:
    """Outcome of (12). ``errors`` is ||e_t|| for t = 0..T (float64)."""

    status: str            # converged | diverged | max_steps
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

    def to_json(self) -> dict:
        return {"ran": True, "status": self.status, "T": self.T, "final_error": self.final_error,
                "kappa_H": self.kappa_H, "D": self.D, "W_distance": self.W_distance,
                "z_distance": self.z_distance, "wall_seconds": self.wall_seconds,
                "seconds_per_step": self.seconds_per_step, "lambda_min_H0": self.lambda_min_H0,
                "lambda_min_HT": self.lambda_min_HT, "singular_points": self.singular_points,
                "error_trajectory": [float(v) for v in self.errors]}


def run_gd(X: np.ndarray, W0: np.ndarray, z0: np.ndarray, y: np.ndarray, cfg: GDConfig,
           progress=None) -> GDResult:
    """Run (12) from (W0, z0) on X (n, m), W0 (S, n), z0 (S,), y (m,).

    ``progress(t, err)`` is called every few steps when given.
    """
    t_start = time.perf_counter()
    W, z = W0.copy(), z0.copy()
    P = W @ X
    A0 = P > 0
    A = A0
    F = np.maximum(P, 0.0)
    e = F.T @ z - y
    errs = [float(np.linalg.norm(e))]
    changed = np.zeros_like(A0)
    singular = int(np.count_nonzero(P == 0))
    status, T, loop_time = "max_steps", 0, 0.0
    if errs[0] < cfg.tol:
        status = "converged"
    while status == "max_steps" and T < cfg.max_steps:
        t0 = time.perf_counter()
        M = A * z[:, None]
        M *= e[None, :]
        gz = F @ e if cfg.eta_z else None
        W -= cfg.eta_w * (M @ X.T)
        if gz is not None:
            z -= cfg.eta_z * gz
        P = W @ X
        A = P > 0
        changed |= A != A0
        F = np.maximum(P, 0.0)
        e = F.T @ z - y
        T += 1
        err = float(np.linalg.norm(e))
        singular += int(np.count_nonzero(P == 0))
        loop_time += time.perf_counter() - t0
        errs.append(err)
        if progress is not None and (T % 10 == 0):
            progress(T, err)
        if err > errs[-2]:
            status = "diverged"
        elif err < cfg.tol:
            status = "converged"
    lam0 = model.lambda_min(model.H_matrix(X, z0, A0))
    lamT = model.lambda_min(model.H_matrix(X, z, A))
    return GDResult(status=status, T=T, final_error=errs[-1], errors=np.asarray(errs), D=int(changed.sum()),
                    W_distance=float(np.linalg.norm(W - W0)), z_distance=float(np.linalg.norm(z - z0)),
                    lambda_min_H0=lam0, lambda_min_HT=lamT, kappa_H=lamT / lam0 if lam0 > 0 else float("nan"),
                    wall_seconds=time.perf_counter() - t_start,
                    seconds_per_step=loop_time / T if T else 0.0, singular_points=singular)
