"""Rigorous float64 error bounds, written for the audit (simple, dense, generous).

Model: IEEE binary64 with round-to-nearest, unit roundoff ``u = 2^-53``. A computed inner product of
length ``k`` (any summation order, with or without FMA) satisfies
``|fl(a.b) - a.b| <= gamma_k |a|.|b|``, ``gamma_k = k u / (1 - k u)`` (Higham, *Accuracy and
Stability of Numerical Algorithms*, 2nd ed., 3.1); the bound here uses ``gamma_{k+2}`` and then
inflates the computed bound itself (it is also rounded), plus an underflow term. Every enclosure
``[lo, hi]`` contains the value in real arithmetic on the given float64 arrays.

Extreme eigenvalues (:func:`lambda_min`): with a computed eigendecomposition ``M ~ V diag(w) V^T`` of
the computed matrix ``M``, whose distance to the true matrix is bounded entrywise by ``E``:

- upper end: the Rayleigh quotient of the computed bottom eigenvector, rounding bounded, plus
  ``||E||_F`` (Weyl);
- lower end: ``M = V diag(w) V^T + R``; Ostrowski's theorem gives
  ``lambda_1(V diag(w) V^T) = theta w_1`` with ``theta in [1 - eps, 1 + eps]``,
  ``eps >= ||V^T V - I||_2``; Weyl then gives ``lambda_min(M) >= theta w_1 - ||R||_2``, and
  ``lambda_min(true) >= lambda_min(M) - ||E||_2``. Norms are bounded by Frobenius norms of computed
  residuals plus their own rounding bounds.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg

U = 2.0 ** -53
TINY = 2.0 ** -1000  # covers underflow in the products (far above denormal effects)


def gamma(k: int) -> float:
    """``gamma_k = k u / (1 - k u)``."""
    ku = k * U
    if ku >= 0.5:
        raise ValueError("dimension too large for float64 error bounds")
    return ku / (1.0 - ku)


def up(x: float) -> float:
    """A float ``>= x`` covering the rounding of the bound computation itself."""
    return float(x) + abs(float(x)) * 16 * U + TINY


def down(x: float) -> float:
    return float(x) - abs(float(x)) * 16 * U - TINY


def product(A: np.ndarray, B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(C, E)``: the computed ``C = A @ B`` and an entrywise bound ``E`` of ``|C - AB|``. A (p, k), B (k, q)."""
    k = A.shape[-1]
    C = A @ B
    E = (gamma(k + 2) * (1 + 4 * gamma(k + 2))) * (np.abs(A) @ np.abs(B)) + k * TINY
    return C, E


def norm_F_upper(E: np.ndarray) -> float:
    """An upper bound of the Frobenius norm of ``E``."""
    if E.size == 0:
        return 0.0
    return up(float(np.sqrt(np.sum(np.square(E)))) * (1 + gamma(E.size + 2)))


def lambda_min(M: np.ndarray, E: np.ndarray | float | None = None) -> tuple[float, float, float]:
    """``(lo, value, hi)``: ``value`` is the computed smallest eigenvalue of the symmetric float
    matrix ``M`` (m, m), and ``[lo, hi]`` encloses the smallest eigenvalue of every symmetric matrix
    within ``E`` of ``M`` entrywise (``E`` (m, m) array, a scalar bound of its 2-norm given as a float,
    or None for ``M`` itself)."""
    m = M.shape[0]
    if m == 0:
        raise ValueError("empty matrix")
    M = np.asarray(M, dtype=np.float64)
    sym_err = 0.0
    if not np.array_equal(M, M.T):  # the true matrix is symmetric: symmetrising moves M no further from it
        M = (M + M.T) / 2
        sym_err = norm_F_upper(U * np.abs(M))  # ... apart from the rounding of (M + M^T) / 2
    if E is None:
        e_norm = 0.0
    elif isinstance(E, float):
        e_norm = E
    else:
        e_norm = norm_F_upper(E)
    e_norm += sym_err
    w, V = scipy.linalg.eigh(M)
    g = gamma(m + 3) * (1 + 4 * gamma(m + 3))
    # eps >= ||V^T V - I||_2
    VtV = V.T @ V
    eps = norm_F_upper(VtV - np.eye(m)) + norm_F_upper(g * (np.abs(V).T @ np.abs(V)))
    # ||R||_2, R = M - V diag(w) V^T
    VW = V * w
    R = M - VW @ V.T
    r_norm = norm_F_upper(R) + norm_F_upper(g * (np.abs(M) + (np.abs(V) * np.abs(w)) @ np.abs(V).T))
    w1 = float(w[0])
    theta_w1 = (1 - eps) * w1 if w1 >= 0 else (1 + eps) * w1
    lo = down(down(theta_w1) - r_norm - e_norm)
    v = V[:, 0]
    Mv = M @ v
    num = float(v @ Mv)
    num_err = up(g * float(np.abs(v) @ (np.abs(M) @ np.abs(v))) * 2)
    den = float(v @ v)
    gd = gamma(m + 2)
    top = up(num + num_err)
    rq = top / (den * (1 - gd)) if top >= 0 else top / (den * (1 + gd))
    hi = up(up(rq) + e_norm)
    return lo, w1, max(hi, w1)


def lambda_max(M: np.ndarray, E: np.ndarray | float | None = None) -> tuple[float, float, float]:
    """``(lo, value, hi)`` of the largest eigenvalue (:func:`lambda_min` of ``-M``)."""
    lo, v, hi = lambda_min(-np.asarray(M, dtype=np.float64), E)
    return -hi, -v, -lo


def sqrt_enclosure(lo: float, v: float, hi: float) -> tuple[float, float, float]:
    """Enclosure of the square root of a value enclosed by ``[lo, hi]`` (clipped at 0)."""
    return (down(math.sqrt(max(lo, 0.0))) if lo > 0 else 0.0, math.sqrt(max(v, 0.0)), up(math.sqrt(max(hi, 0.0))))


def lambda_max_stack(M: np.ndarray, E: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(value, hi) for a stack of symmetric matrices M (b, k, k) with entrywise error bounds E:
    the computed largest eigenvalues and rigorous upper ends, by the bounds of :func:`lambda_min`
    applied to -M (Ostrowski and Weyl with the residual of the computed eigendecomposition)."""
    b, k, _ = M.shape
    w, V = np.linalg.eigh(M)
    g = gamma(k + 3) * (1 + 4 * gamma(k + 3))
    fro = lambda A: np.sqrt(np.sum(np.square(A), axis=(1, 2))) * (1 + gamma(k * k + 2)) * (1 + 16 * U) + TINY
    absV = np.abs(V)
    eps = fro(np.swapaxes(V, 1, 2) @ V - np.eye(k)) + fro(g * (np.swapaxes(absV, 1, 2) @ absV))
    R = M - (V * w[:, None, :]) @ np.swapaxes(V, 1, 2)
    r = fro(R) + fro(g * (np.abs(M) + (absV * np.abs(w)[:, None, :]) @ np.swapaxes(absV, 1, 2)))
    top = w[:, -1]
    theta = np.where(top >= 0, (1 + eps) * top, (1 - eps) * top)
    hi = theta + np.abs(theta) * 16 * U + r + fro(E) + TINY
    return top, hi
