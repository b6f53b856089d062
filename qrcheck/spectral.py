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
* ``lobpcg`` (matrix-free, smallest eigenvalue of H = (X^T X) o (B^T B)):
  ``scipy.sparse.linalg.lobpcg`` with one vector, preconditioned by the inverse of
  P = D + c^2 X^T X + d 11^T, the part of H that makes its n + 1 large outliers (c^2 the mean
  off-diagonal entry of B^T B, d what is left of H's mean off-diagonal entry, D diagonal so that
  diag P = diag H), applied through the Woodbury identity with an (n + 1) x (n + 1) Cholesky
  factor (O(nm) a product, O(n^2 m) once). Products with float32 copies of B and X (2.4x
  cheaper) carry it to a relative residual of 1e-4, float64 products finish it, so theta and r are
  float64 ones; memory O(Sm + nm).
* ``lanczos`` (matrix-free): ARPACK's implicitly restarted Lanczos (``scipy.sparse.linalg.eigsh``)
  on a :class:`scipy.sparse.linalg.LinearOperator`, for the other matrix-free extremes (largest
  eigenvalues, G = F^T F); memory O(Sm + nm).

Every non-dense result carries its Ritz value theta = v^T M v of the returned unit vector v and
the residual r = ||M v - theta v||: some eigenvalue of M lies in [theta - r, theta + r] (a
rigorous statement up to the rounding of the two products). For the smallest eigenvalue, theta
itself is an upper bound (Rayleigh quotient); the lower bound theta - r is *verified* only when a
positive-definiteness test of M - (theta - r) I succeeded (``shift_invert``); after matrix-free
Lanczos or LOBPCG it holds when the Ritz value converged to the extreme eigenvalue (and not to an
eigenvalue above it), which these methods from a random start do with probability one but which
no residual proves (``lower_kind`` "residual"). For the largest eigenvalue the roles swap: theta
is a lower bound. When a rank bound forces lambda_min = 0 (m > Sn for H, m > S for G), the value
is that exact 0 (``rank``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import model
from .system import DENSE_M_LIMIT  # noqa: F401  (re-exported: callers read spectral.DENSE_M_LIMIT)

# at or below this m, extreme eigenvalues come from numpy.linalg.eigvalsh of the formed matrix
EIGVALSH_M_MAX = 1000
# above DENSE_M_LIMIT (qrcheck.system's, re-exported) no m x m array is allocated: H, G and (60)'s
# matrix are applied through (7)
# ARPACK's tol: stop when ||M v - theta v|| <= tol |theta| (the eigenvalue itself is then far more
# accurate: its error is about the residual squared over the gap; docs/gd.md)
LANCZOS_TOL = 1e-6
# Lanczos basis size (ARPACK's ncv): the bottom of H's spectrum is clustered, and 64 vectors took
# 1051 products at m = 3000 where ARPACK's default 20 took 2611 (150: 901, but slower; docs/gd.md)
LANCZOS_NCV = 64
# at most this many Lanczos restarts before giving up (the result then says converged=False)
LANCZOS_MAXITER = 20_000
# at most this many products with H in LOBPCG (one vector: one product an iteration)
LOBPCG_MAXITER = 20_000
# LOBPCG first runs on float32 products (2.4x cheaper) down to this relative residual, above
# their rounding floor (~1e-5 at m = 3000 - 8000), in calls of LOBPCG_CHUNK iterations; float64
# products finish (docs/gd.md)
LOBPCG_COARSE_TOL = 1e-4
LOBPCG_CHUNK = 200


@dataclass(frozen=True)
class Extreme:
    """An extreme eigenvalue of a symmetric matrix with what is known about its error.

    value : the estimate (eigvalsh's value, or the Ritz value theta).
    lower, upper : bounds on the eigenvalue (None when the method gives none; see the module).
    residual : ||M v - theta v|| of the unit Ritz vector v (None for ``dense`` and ``rank``).
    method : "dense", "shift_invert", "lobpcg", "lanczos" or "rank".
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


def _weighted(A: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    """B = diag(sqrt(w)) A (S, m), float64 and C-contiguous: (A^T diag(w) A) = B^T B."""
    B = np.asarray(A, dtype=np.float64)
    if weights is not None:
        B = B * np.sqrt(np.asarray(weights, dtype=np.float64))[:, None]
    return np.ascontiguousarray(B)


def gram_matvec(A: np.ndarray, X: np.ndarray, weights: np.ndarray | None = None):
    """v -> ((A^T diag(w) A) o (X^T X)) v through identity (7), A (S, m), X (n, m), weights (S,)
    >= 0 or None: O(Snm) a product, no m x m array. diag(sqrt(w)) A is formed once (float64), so
    each product is two GEMMs and two S x m passes."""
    B = _weighted(A, weights)
    return lambda v: model.khatri_rao_gram_matvec(B, X, v)


def _outlier_preconditioner(B: np.ndarray, X: np.ndarray, H_ones: np.ndarray):
    """The inverse of P = D + c^2 X^T X + d 11^T as a LinearOperator, the model of
    H = (X^T X) o (B^T B) that carries its n + 1 large eigenvalues; B (S, m), X (n, m), H_ones (m,)
    the product H 1 (one matrix-free product).

    c^2 is the mean off-diagonal entry of B^T B (about E[z^2] S / 4 for the activation mask: H's
    n outliers ~ c^2 m / n along the rows of X), d >= 0 what is left of H's mean off-diagonal
    entry (the (X^T X)^2 term of the arc-cosine kernel: one outlier along 1), D = diag H -
    diag(c^2 X^T X + d 11^T), kept positive. P^{-1} r = D^{-1} r - D^{-1} U (I + U^T D^{-1} U)^{-1}
    U^T D^{-1} r (Woodbury), U = [c X^T, sqrt(d) 1] (m, <= n + 1): O(n^2 m) once, O(nm) a product.
    """
    import scipy.linalg as sl
    from scipy.sparse.linalg import LinearOperator

    m = B.shape[1]
    pairs = m * (m - 1)
    col_sq = np.einsum("km,km->m", X, X)                      # ||x_j||^2
    diag_BB = np.einsum("sm,sm->m", B, B)
    diag_H = diag_BB * col_sq
    c2 = (float(np.sum(B.sum(axis=1) ** 2)) - float(diag_BB.sum())) / pairs
    x_sum = X.sum(axis=1)
    off_X = (float(x_sum @ x_sum) - float(col_sq.sum())) / pairs
    off_H = (float(H_ones.sum()) - float(diag_H.sum())) / pairs
    c2 = max(c2, 0.0)
    d = max(off_H - c2 * off_X, 0.0)
    U = np.hstack([np.sqrt(c2) * X.T, np.full((m, 1), np.sqrt(d))])
    D = diag_H - c2 * col_sq - d
    D = np.maximum(D, 1e-3 * max(float(diag_H.mean()), np.finfo(float).tiny))
    Dinv_U = U / D[:, None]
    cap = sl.cho_factor(np.eye(U.shape[1]) + U.T @ Dinv_U, lower=True, check_finite=False)

    def solve(R):
        R = np.asarray(R, dtype=np.float64)
        R2 = R.reshape(m, -1)
        Y = R2 / D[:, None] - Dinv_U @ sl.cho_solve(cap, Dinv_U.T @ R2, check_finite=False)
        return Y.reshape(R.shape)

    return LinearOperator((m, m), matvec=solve, matmat=solve, dtype=np.float64)


def _lobpcg_min(matvec, m: int, precond, tol: float = LANCZOS_TOL, maxiter: int = LOBPCG_MAXITER,
                v0: np.ndarray | None = None, setup_matvecs: int = 0, coarse=None) -> Extreme:
    """Matrix-free smallest eigenvalue by LOBPCG with one vector and the preconditioner
    ``precond``, started from ``v0`` or a seeded random vector; stops when
    ||M v - theta v|| <= tol |theta| for the products of ``matvec``, or after about ``maxiter``
    products (then ``converged`` is False and theta, the best vector's, is still an upper bound).

    ``coarse``: a cheaper, less accurate product (H's in float32) that runs first, until its own
    residual is below :data:`LOBPCG_COARSE_TOL` |theta| or stops halving over
    :data:`LOBPCG_CHUNK` iterations (its rounding floor); ``matvec`` then finishes from its vector,
    so the result is ``matvec``'s alone. lobpcg's tolerance is absolute, so each phase reruns it
    from its best vector with tol |theta| of the current theta until the relative test holds."""
    import warnings

    from scipy.sparse.linalg import LinearOperator, lobpcg

    count = [setup_matvecs]

    def operator(product):
        def counted(v):
            count[0] += 1
            return product(v)

        def block(V):
            V = np.asarray(V).reshape(m, -1)
            return np.column_stack([counted(V[:, i]) for i in range(V.shape[1])])

        return counted, LinearOperator((m, m), matvec=block, matmat=block, dtype=np.float64)

    def phase(product, v, tol, chunk):
        counted, op = operator(product)
        theta, r = _ritz(counted, v)
        while r > tol * abs(theta) and count[0] < maxiter:
            with warnings.catch_warnings():    # "not reaching the requested tolerance": judged here
                warnings.simplefilter("ignore")
                _, vecs = lobpcg(op, v[:, None], M=precond, largest=False, tol=0.9 * tol * abs(theta),
                                 maxiter=min(chunk, maxiter - count[0]))
            w = vecs[:, 0] / np.linalg.norm(vecs[:, 0])
            theta_w, r_w = _ritz(counted, w)
            if not np.isfinite(theta_w):
                break
            stalled = r_w > 0.5 * r
            v, theta, r = w, theta_w, r_w
            if stalled and chunk < maxiter:
                break
        return v, theta, r

    v = _start(m) if v0 is None else np.asarray(v0, dtype=np.float64)
    v = v / np.linalg.norm(v)
    if coarse is not None:
        try:
            v = phase(coarse, v, LOBPCG_COARSE_TOL, LOBPCG_CHUNK)[0]
        except np.linalg.LinAlgError:      # lobpcg broke down on the rounded products: start over
            pass
    v, theta, r = phase(matvec, v, tol, maxiter)
    return Extreme(theta, lower=theta - r, upper=theta, residual=r, method="lobpcg",
                   lower_kind="residual", upper_kind="verified", matvecs=count[0],
                   converged=bool(r <= tol * abs(theta)), vector=v)


def _khatri_rao_extreme(A: np.ndarray, X: np.ndarray, weights: np.ndarray | None, which: str,
                        dense_limit: int, v0: np.ndarray | None = None) -> Extreme:
    S, m = A.shape
    n = X.shape[0]
    if which == "min" and m > S * n:
        return _RANK_ZERO
    if m <= dense_limit:
        M = model.khatri_rao_gram(A, X, weights)
        return lambda_min_dense(M) if which == "min" else lambda_max_dense(M)
    if which == "max":
        return _lanczos(gram_matvec(A, X, weights), m, "LA", v0=v0)
    B = _weighted(A, weights)

    def matvec(v):
        return model.khatri_rao_gram_matvec(B, X, v)

    B32, X32 = B.astype(np.float32), X.astype(np.float32)

    def coarse(v):
        return model.khatri_rao_gram_matvec(B32, X32, v.astype(np.float32)).astype(np.float64)

    precond = _outlier_preconditioner(B, X, matvec(np.ones(m)))
    return _lobpcg_min(matvec, m, precond, v0=v0, setup_matvecs=1, coarse=coarse)


def lambda_min_H(X: np.ndarray, z: np.ndarray | None, A: np.ndarray, *,
                 dense_limit: int = DENSE_M_LIMIT, v0: np.ndarray | None = None) -> Extreme:
    """lambda_min(H), H = (X^T X) o (B^T B), B = diag(z) A (Section 3); ``z=None``: (X^T X) o (A^T A).

    X (n, m), z (S,) or None, A (S, m). Forms H (m, m) only when m <= dense_limit; 0 exactly when
    m > S n (rank(B * X) <= S n); above dense_limit by preconditioned LOBPCG (``lobpcg``, see the
    module). ``v0``: the start on the matrix-free path (GD starts lambda_min(H_T) from H_0's Ritz
    vector: H_T is close to H_0)."""
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
    if m <= min(EIGVALSH_M_MAX, dense_limit):
        return Extreme(model.lambda_min(model.G_matrix(F)))
    if m > S:
        return _RANK_ZERO
    if m <= dense_limit:
        return lambda_min_dense(model.G_matrix(F))
    return _lanczos(lambda v: F.T @ (F @ v), m, "SA")
