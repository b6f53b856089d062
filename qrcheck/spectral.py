"""Extreme eigenvalues of the symmetric m x m matrices of (7) without full eigendecompositions.

The NTK matrices H = (X^T X) o (B^T B) (B = diag(z) A, Section 3), G = F^T F and the matrix of
(60) have cheap products with a vector (identity (7): H xi costs two GEMMs of S x m x n,
:func:`qrcheck.model.khatri_rao_gram_matvec`), so their extreme eigenvalues need neither the m x m
matrix (above :data:`DENSE_M_LIMIT`) nor its O(m^3) eigendecomposition (above
:data:`EIGVALSH_M_MAX`). Three methods, by size:

* ``dense`` (m <= EIGVALSH_M_MAX): ``numpy.linalg.eigvalsh`` of the formed matrix, as before this
  module existed (bit-identical results on every size the tests and Table 1 use).
* ``shift_invert`` (EIGVALSH_M_MAX < m <= DENSE_M_LIMIT, smallest eigenvalue of a positive
  definite matrix): a Cholesky factorisation M = L L^T (m^3 / 3 flops, about a tenth of
  ``eigvalsh``), Lanczos on M^{-1} (its largest eigenvalue 1 / lambda_min is well separated), and
  a second Cholesky of M - (theta - delta) I as the positive-definiteness test of the lower bound.
* ``lanczos`` (matrix-free): ARPACK's implicitly restarted Lanczos (``scipy.sparse.linalg.eigsh``)
  on a :class:`scipy.sparse.linalg.LinearOperator`; memory O(Sm + nm).

Every non-dense result carries its Ritz value theta = v^T M v of the returned unit vector v and
the residual r = ||M v - theta v||: some eigenvalue of M lies in [theta - r, theta + r] (a
rigorous statement up to the rounding of the two products). For the smallest eigenvalue, theta
itself is an upper bound (Rayleigh quotient); the lower bound theta - r is *verified* only when a
positive-definiteness test of M - (theta - r) I succeeded (``shift_invert``); after matrix-free
Lanczos it holds when the Ritz value converged to the extreme eigenvalue, which Krylov methods
from a random start do with probability one but which no residual proves (``lower_kind``
"residual"). For the largest eigenvalue the roles swap: theta is a lower bound. When a rank bound
forces lambda_min = 0 (m > Sn for H, m > S for G), the value is that exact 0 (``rank``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import model

# at or below this m, extreme eigenvalues come from numpy.linalg.eigvalsh of the formed matrix
EIGVALSH_M_MAX = 1000
# above this m no m x m array is allocated: H, G and (60)'s matrix are applied through (7)
DENSE_M_LIMIT = 6000
# ARPACK's tol: stop when ||M v - theta v|| <= tol |theta| (the eigenvalue itself is then far more
# accurate: its error is about the residual squared over the gap; docs/gd.md)
LANCZOS_TOL = 1e-6
# Lanczos basis size (ARPACK's ncv): the bottom of H's spectrum is clustered, and 64 vectors took
# 1051 products at m = 3000 where ARPACK's default 20 took 2611 (150: 901, but slower; docs/gd.md)
LANCZOS_NCV = 64
# at most this many Lanczos restarts before giving up (the result then says converged=False)
LANCZOS_MAXITER = 20_000


@dataclass(frozen=True)
class Extreme:
    """An extreme eigenvalue of a symmetric matrix with what is known about its error.

    value : the estimate (eigvalsh's value, or the Ritz value theta).
    lower, upper : bounds on the eigenvalue (None when the method gives none; see the module).
    residual : ||M v - theta v|| of the unit Ritz vector v (None for ``dense`` and ``rank``).
    method : "dense", "shift_invert", "lanczos" or "rank".
    lower_kind, upper_kind : how each bound holds: "verified" (a Rayleigh quotient, a
        positive-definiteness test or a rank bound; up to the rounding of the products) or
        "residual" (theta -+ r: holds when the Ritz value converged to the extreme eigenvalue);
        None without a bound.
    matvecs : products with M or M^{-1} used; converged : whether the iteration met its tolerance.
    """

    value: float
    lower: float | None = None
    upper: float | None = None
    residual: float | None = None
    method: str = "dense"
    lower_kind: str | None = None
    upper_kind: str | None = None
    matvecs: int = 0
    converged: bool = True
    vector: np.ndarray | None = field(default=None, repr=False, compare=False)  # the unit Ritz vector

    def to_json(self) -> dict:
        return {"value": self.value, "lower": self.lower, "upper": self.upper, "residual": self.residual,
                "method": self.method, "lower_kind": self.lower_kind, "upper_kind": self.upper_kind, "matvecs": self.matvecs,
                "converged": self.converged}


_RANK_ZERO = Extreme(0.0, lower=0.0, upper=0.0, method="rank", lower_kind="verified", upper_kind="verified")


def _linear_operator(matvec, m: int):
    from scipy.sparse.linalg import LinearOperator

    return LinearOperator((m, m), matvec=lambda v: matvec(np.ravel(v)), dtype=np.float64)


def _start(m: int) -> np.ndarray:
    """A deterministic start vector (seeded Gaussian: orthogonal to no eigenvector a.s.)."""
    return np.random.default_rng(20240601).standard_normal(m)


def _ritz(matvec, v: np.ndarray) -> tuple[float, float]:
    """(theta, ||M v - theta v||) for the normalised v."""
    v = v / np.linalg.norm(v)
    Mv = matvec(v)
    theta = float(v @ Mv)
    return theta, float(np.linalg.norm(Mv - theta * v))


def _lanczos(matvec, m: int, which: str, tol: float = LANCZOS_TOL,
             maxiter: int = LANCZOS_MAXITER, v0: np.ndarray | None = None) -> Extreme:
    """Matrix-free extreme eigenvalue by ARPACK (``which`` "SA" smallest, "LA" largest), started
    from ``v0`` (e.g. the Ritz vector of a nearby matrix) or a seeded random vector."""
    from scipy.sparse.linalg import ArpackNoConvergence, eigsh

    count = [0]

    def counted(v):
        count[0] += 1
        return matvec(v)

    converged = True
    try:
        _, vecs = eigsh(_linear_operator(counted, m), k=1, which=which, tol=tol,
                        v0=_start(m) if v0 is None else v0, ncv=min(m - 1, LANCZOS_NCV), maxiter=maxiter)
        v = vecs[:, 0]
    except ArpackNoConvergence as exc:   # keep the best Ritz vector, say so
        converged = False
        if exc.eigenvectors.shape[1] == 0:
            raise
        v = exc.eigenvectors[:, 0]
    theta, r = _ritz(matvec, v)
    if which == "SA":
        return Extreme(theta, lower=theta - r, upper=theta, residual=r, method="lanczos",
                       lower_kind="residual", upper_kind="verified", matvecs=count[0] + 1,
                       converged=converged, vector=v / np.linalg.norm(v))
    return Extreme(theta, lower=theta, upper=theta + r, residual=r, method="lanczos",
                   lower_kind="verified", upper_kind="residual", matvecs=count[0] + 1, converged=converged)


def _shift_invert_min(M: np.ndarray, verify: bool = True) -> Extreme | None:
    """lambda_min of a dense positive definite M by Cholesky + Lanczos on M^{-1}; None when the
    Cholesky factorisation fails (M not numerically positive definite). ``verify``: also test
    M - (theta - delta) I for positive definiteness (a second Cholesky) for a verified lower bound."""
    import scipy.linalg as sl
    from scipy.sparse.linalg import eigsh

    m = M.shape[0]
    try:
        c = sl.cho_factor(M, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        return None
    count = [0]

    def solve(v):
        count[0] += 1
        return sl.cho_solve(c, v, check_finite=False)

    _, vecs = eigsh(_linear_operator(solve, m), k=1, which="LA", tol=LANCZOS_TOL * 1e-3, v0=_start(m))
    del c
    theta, r = _ritz(lambda v: M @ v, vecs[:, 0])
    # positive-definiteness test of M - (theta - delta) I: delta covers the residual and the
    # rounding of a Cholesky factorisation (a few m eps ||M||, ||M|| <= max |M_ij| m)
    if not verify:
        return Extreme(theta, lower=theta - r, upper=theta, residual=r, method="shift_invert",
                       lower_kind="residual", upper_kind="verified", matvecs=count[0] + 1)
    delta = max(r, 8.0 * m * np.finfo(float).eps * float(np.abs(M).max()))
    shifted = M - (theta - delta) * np.eye(m)
    try:
        sl.cho_factor(shifted, lower=True, check_finite=False, overwrite_a=True)
        lower, kind = theta - delta, "verified"
    except np.linalg.LinAlgError:
        lower, kind = theta - r, "residual"
    return Extreme(theta, lower=lower, upper=theta, residual=r, method="shift_invert",
                   lower_kind=kind, upper_kind="verified", matvecs=count[0] + 1)


def lambda_min_dense(M: np.ndarray, rank: int | None = None, *, verify: bool = True) -> Extreme:
    """Smallest eigenvalue of a formed symmetric (m, m) matrix: ``eigvalsh`` up to EIGVALSH_M_MAX,
    then 0 exactly when M is positive semidefinite with ``rank`` < m (a Gram matrix of fewer than m
    vectors: G0 = F0^T F0 has rank <= S, H0 rank <= S n), else shift-invert (positive definite M)
    or Lanczos. ``verify=False`` skips the positive-definiteness test of the lower bound (one
    Cholesky less; for callers that enclose the value themselves, e.g. ``enclosures``)."""
    m = M.shape[0]
    if m <= EIGVALSH_M_MAX:
        return Extreme(model.lambda_min(M))
    if rank is not None and rank < m:
        return _RANK_ZERO
    out = _shift_invert_min(M, verify)
    return out if out is not None else _lanczos(lambda v: M @ v, m, "SA")


def lambda_max_dense(M: np.ndarray) -> Extreme:
    """Largest eigenvalue of a formed symmetric (m, m) matrix (eigvalsh, then Lanczos)."""
    m = M.shape[0]
    if m <= EIGVALSH_M_MAX:
        return Extreme(float(np.linalg.eigvalsh(M)[-1]))
    return _lanczos(lambda v: M @ v, m, "LA")


def gram_matvec(A: np.ndarray, X: np.ndarray, weights: np.ndarray | None = None):
    """v -> ((A^T diag(w) A) o (X^T X)) v through identity (7), A (S, m), X (n, m), weights (S,)
    >= 0 or None: O(Snm) a product, no m x m array. diag(sqrt(w)) A is formed once (float64), so
    each product is two GEMMs and two S x m passes."""
    B = np.asarray(A, dtype=np.float64)
    if weights is not None:
        B = B * np.sqrt(np.asarray(weights, dtype=np.float64))[:, None]
    B = np.ascontiguousarray(B)
    return lambda v: model.khatri_rao_gram_matvec(B, X, v)


def _khatri_rao_extreme(A: np.ndarray, X: np.ndarray, weights: np.ndarray | None, which: str,
                        dense_limit: int, v0: np.ndarray | None = None) -> Extreme:
    S, m = A.shape
    n = X.shape[0]
    if which == "min" and m > S * n:
        return _RANK_ZERO
    if m <= dense_limit:
        M = model.khatri_rao_gram(A, X, weights)
        return lambda_min_dense(M) if which == "min" else lambda_max_dense(M)
    return _lanczos(gram_matvec(A, X, weights), m, "SA" if which == "min" else "LA", v0=v0)


def lambda_min_H(X: np.ndarray, z: np.ndarray | None, A: np.ndarray, *,
                 dense_limit: int = DENSE_M_LIMIT, v0: np.ndarray | None = None) -> Extreme:
    """lambda_min(H), H = (X^T X) o (B^T B), B = diag(z) A (Section 3); ``z=None``: (X^T X) o (A^T A).

    X (n, m), z (S,) or None, A (S, m). Forms H (m, m) only when m <= dense_limit; 0 exactly when
    m > S n (rank(B * X) <= S n). ``v0``: Lanczos start on the matrix-free path (GD starts
    lambda_min(H_T) from H_0's Ritz vector: H_T is close to H_0)."""
    w = None if z is None else np.asarray(z, dtype=np.float64) ** 2
    return _khatri_rao_extreme(A, X, w, "min", dense_limit, v0)


def lambda_max_khatri_rao(A: np.ndarray, X: np.ndarray, *, dense_limit: int = DENSE_M_LIMIT) -> Extreme:
    """lambda_max((A^T A) o (X^T X)) = ||A * X||^2 (identity (7)), A (S, m) real, X (n, m)."""
    if not np.any(A):
        return _RANK_ZERO
    return _khatri_rao_extreme(A, X, None, "max", dense_limit)


def lambda_min_G(F: np.ndarray, *, dense_limit: int = DENSE_M_LIMIT) -> Extreme:
    """lambda_min(G), G = F^T F (Section 3), F (S, m): 0 exactly when m > S (rank <= S)."""
    S, m = F.shape
    if m <= EIGVALSH_M_MAX:
        return Extreme(model.lambda_min(model.G_matrix(F)))
    if m > S:
        return _RANK_ZERO
    if m <= dense_limit:
        return lambda_min_dense(model.G_matrix(F))
    return _lanczos(lambda v: F.T @ (F @ v), m, "SA")
