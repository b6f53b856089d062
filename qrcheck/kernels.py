"""The limit NTK matrices of Appendix C.

For w ~ N(0, I_n),
  H^w(X) = E_w[(X^T X) o (sigma'(X^T w) sigma'(w^T X))],   H^w_{jj'} = f^w(<X^j, X^j'>),
  H^z(X) = E_w[sigma(X^T w) sigma(w^T X)],                 H^z_{jj'} = f^z(<X^j, X^j'>),
with (Appendix C)
  f^w(g) = g (1/2 - arccos(g) / (2 pi)),
  f^z(g) = (g (pi - arccos(g)) + sqrt(1 - g^2)) / (2 pi).
Inner products of unit vectors can round to just outside [-1, 1]; they are clipped, and arccos and
sqrt(1 - g^2) are evaluated as 2 atan2(sqrt(1 - g), sqrt(1 + g)) and sqrt((1 - g)(1 + g)), which
keep full relative accuracy as g -> +-1.
"""

from __future__ import annotations

from functools import lru_cache

import math

import numpy as np


def _acos(g: np.ndarray) -> np.ndarray:
    return 2.0 * np.arctan2(np.sqrt(1.0 - g), np.sqrt(1.0 + g))


def f_w(gamma: np.ndarray | float) -> np.ndarray:
    """f^w(g) = g (1/2 - arccos(g)/(2 pi)) (Appendix C), elementwise on g in [-1, 1]."""
    g = np.clip(np.asarray(gamma, dtype=np.float64), -1.0, 1.0)
    return g * (0.5 - _acos(g) / (2.0 * np.pi))


def f_z(gamma: np.ndarray | float) -> np.ndarray:
    """f^z(g) = (g (pi - arccos g) + sqrt(1 - g^2)) / (2 pi) (Appendix C), elementwise."""
    g = np.clip(np.asarray(gamma, dtype=np.float64), -1.0, 1.0)
    return (g * (np.pi - _acos(g)) + np.sqrt((1.0 - g) * (1.0 + g))) / (2.0 * np.pi)


def f_w_taylor(gamma: np.ndarray | float, terms: int = 200) -> np.ndarray:
    """Taylor series of f^w: g/4 + (1/2pi) sum_r (2r)! / (4^r (r!)^2 (2r+1)) g^(2r+2) (Appendix C)."""
    g = np.asarray(gamma, dtype=np.float64)
    out = g / 4.0
    c = 1.0  # (2r)! / (4^r (r!)^2), updated by the ratio (2r+1)(2r+2) / (4 (r+1)^2)
    for r in range(terms):
        out = out + c / (2 * r + 1) * g ** (2 * r + 2) / (2.0 * np.pi)
        c *= (2 * r + 1) * (2 * r + 2) / (4.0 * (r + 1) ** 2)
    return out


def f_z_taylor(gamma: np.ndarray | float, terms: int = 200) -> np.ndarray:
    """Taylor series of f^z, corrected (see docs/errata.md):
    1/(2pi) + g/4 + (1/2pi) sum_{r>=1} (2r-3)!! / ((2r)!! (2r-1)) g^(2r)  [(-1)!! = 1].

    The paper prints the g^2 coefficient as 1/(48 pi) and omits the 1/(2r-1) factor; the closed form
    f^z it derives from has g^2 coefficient 1/(4 pi) and g^4 coefficient 1/(48 pi).
    """
    g = np.asarray(gamma, dtype=np.float64)
    out = 1.0 / (2.0 * np.pi) + g / 4.0
    c = 0.5  # (2r-3)!! / (2r)!! at r = 1; ratio to r+1 is (2r-1) / (2r+2)
    for r in range(1, terms):
        out = out + c / (2 * r - 1) * g ** (2 * r) / (2.0 * np.pi)
        c *= (2 * r - 1) / (2.0 * r + 2)
    return out


def H_w(X: np.ndarray) -> np.ndarray:
    """H^w(X) = f^w(X^T X) entrywise, X (n, m) -> (m, m) (Appendix C)."""
    return f_w(X.T @ X)


def H_z(X: np.ndarray) -> np.ndarray:
    """H^z(X) = f^z(X^T X) entrywise, X (n, m) -> (m, m) (Appendix C)."""
    return f_z(X.T @ X)


# ---- lambda_min of a formed limit kernel: a diagnostic (never a bar, schema 2) -------------------
#: ARPACK's tolerance on H^{-1} for :func:`lambda_min_limit`: ||H^{-1} v - mu v|| <= tol mu. The
#: value is a diagnostic with its stated accuracy (the residual, recorded as ``*_residual``; the
#: audit checks the value to within it). On Table 2's largest X (n = 100, m = 5000, seed 1), H^w
#: then H^z from H^w's vector: 1e-9 took 732 + 372 Cholesky solves, 1e-5 226 + 146 (8.3 s), 1e-3
#: 82 + 34 (3.4 s) with residuals 1.5e-3 and 6.3e-4 and values within 5e-5 relative of eigvalsh's
#: (docs/properties.md, "Cost of (29)")
LIMIT_TOL = 1e-3
#: ARPACK's basis size (ncv) for :func:`lambda_min_limit`
LIMIT_NCV = 32


def lambda_min_limit(H: np.ndarray, v0: np.ndarray | None = None) -> "spectral.Extreme":
    """lambda_min of a formed limit kernel H = H^w(X) or H^z(X) (m, m), a diagnostic of (29), (30)
    and ``diagnostics``: ``eigvalsh`` up to ``spectral.EIGVALSH_M_MAX`` (bit-identical to before),
    then a Cholesky factor of H and ARPACK on H^{-1} at :data:`LIMIT_TOL` (a looser tolerance than
    ``spectral``'s, which serves GD's kappa_H). Stated accuracy: ``value`` = v^T H v of the unit
    Ritz vector v is an upper bound (Rayleigh quotient, up to rounding) and some eigenvalue lies
    within ``residual`` = ||H v - value v|| below it (``lower_kind`` "residual"). ``v0``: the ARPACK
    start (H^z starts from H^w's Ritz vector: 145 solves instead of 177 at Table 2's largest X), else
    a seeded random vector. Falls back to ``spectral.lambda_min_dense`` when H is not numerically
    positive definite."""
    import scipy.linalg as sl
    from scipy.sparse.linalg import LinearOperator, eigsh

    from . import spectral

    m = H.shape[0]
    if m <= spectral.EIGVALSH_M_MAX:
        return spectral.lambda_min_dense(H, verify=False)
    try:
        c = sl.cho_factor(H, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        return spectral.lambda_min_dense(H, verify=False)
    count = [0]

    def solve(v):
        count[0] += 1
        return sl.cho_solve(c, np.ravel(v), check_finite=False)

    op = LinearOperator((m, m), matvec=solve, dtype=np.float64)
    start = np.random.default_rng(20240601).standard_normal(m) if v0 is None else v0   # as spectral's
    _, vecs = eigsh(op, k=1, which="LA", tol=LIMIT_TOL, v0=start, ncv=min(m - 1, LIMIT_NCV))
    del c
    v = vecs[:, 0] / np.linalg.norm(vecs[:, 0])
    Hv = H @ v
    theta = float(v @ Hv)
    r = float(np.linalg.norm(Hv - theta * v))
    return spectral.Extreme(theta, lower=theta - r, upper=theta, residual=r, method="shift_invert",
                            lower_kind="residual", upper_kind="verified", matvecs=count[0] + 1, vector=v)



# ---- lower bounds on lambda_min(H^w), lambda_min(H^z) proved from (19) (Appendix C) -----------------
#: The data-independent Omega(1) floor kappa_0 of the schema-2 thresholds of (29) and (30)
#: (docs/properties.md, "Thresholds (schema 2)"): an explicit choice standing for Appendix C's
#: lambda_min(H^w(X)), lambda_min(H^z(X)) >= Omega(1); below every value observed on random draws
#: (n >= 20, m <= 1000: lambda_min(H^z) >= 0.037, lambda_min(H^w) >= 0.14).
KAPPA0 = 1e-3

# relative safety margin taken off the computed bounds (their own float rounding is ~1e-15)
_SAFETY = 1e-12


@lru_cache(maxsize=8)  # the same 200 000 coefficients for every draw: computed once (read-only)
def _series(kind: str, terms: int) -> tuple[np.ndarray, np.ndarray, float]:
    """(powers p, coefficients a_p, total sum of a_p) of f^kind(g) = sum_p a_p g^p (Appendix C).

    f^w: a_1 = 1/4, a_{2r+2} = (2r)! / (4^r (r!)^2 (2r+1)) / (2 pi), r >= 0; sum a_p = f^w(1) = 1/2.
    f^z: a_0 = 1/(2 pi), a_1 = 1/4, a_{2r} = (2r-3)!! / ((2r)!! (2r-1)) / (2 pi), r >= 1
    (corrected series, erratum 4); sum a_p = f^z(1) = 1/2.
    Coefficients from log-gamma: (2r)!/(4^r (r!)^2) = exp(lgamma(2r+1) - r ln 4 - 2 lgamma(r+1)) and
    (2r-3)!!/(2r)!! = that same central ratio at r divided by (2r-1).
    """
    from scipy.special import gammaln

    r = np.arange(terms, dtype=np.float64)
    central = np.exp(gammaln(2 * r + 1) - r * np.log(4.0) - 2 * gammaln(r + 1))  # (2r)!/(4^r (r!)^2)
    if kind == "w":
        p = np.concatenate([[1.0], 2 * r + 2])
        a = np.concatenate([[0.25], central / (2 * r + 1) / (2 * np.pi)])
    elif kind == "z":
        rr = r[1:]
        p = np.concatenate([[0.0, 1.0], 2 * rr])
        # (2r-3)!!/(2r)!! = (2r)!/(4^r (r!)^2) / (2r-1)  [(-1)!! = 1], then the factor 1/(2r-1)
        a = np.concatenate([[1 / (2 * np.pi), 0.25], central[1:] / (2 * rr - 1) ** 2 / (2 * np.pi)])
    else:  # pragma: no cover
        raise ValueError(kind)
    p.setflags(write=False)
    a.setflags(write=False)
    return p, a, 0.5


@lru_cache(maxsize=8)
def _series_beyond(kind: str, terms: int) -> float:
    """The coefficient mass beyond the first ``terms`` coefficients: total - sum of those (>= 0)."""
    _, a, total = _series(kind, terms)
    return max(0.0, total - float(np.sum(a)))


def hadamard_series_bound(kind: str, gamma: float, m: int, terms: int = 200_000) -> float:
    """A lower bound on lambda_min(H^kind(X)) for any X (n, m) with unit columns and
    max_{j != j'} |<X^j, X^j'>| <= gamma, proved as in Appendix C.

    H^kind(X) = sum_p a_p (X^T X)^{o p} (Hadamard powers, a_p >= 0; ``_series``). Each power is PSD
    (Schur product theorem) with unit diagonal and off-diagonal entries at most gamma^p in absolute
    value, so by Gershgorin lambda_min((X^T X)^{o p}) >= max(0, 1 - (m - 1) gamma^p) (p = 0 is the
    all-ones matrix: 1 for m = 1, 0 otherwise), and lambda_min of a sum of PSD matrices is at least the
    sum of their lambda_min:

        beta_kind(gamma, m) = sum_p a_p max(0, 1 - (m - 1) gamma^p).

    The sum is truncated after ``terms`` coefficients (every dropped term is >= 0, so the truncation
    is a lower bound) and the tail beyond is bounded below by (1 - (m-1) gamma^P)_+ (1/2 - sum_{p<P} a_p)
    with P the first dropped power. Returns 0 when gamma >= 1 and m >= 2.
    """
    if m <= 1:
        return 0.5
    gamma = float(gamma)
    if not gamma < 1.0:
        return 0.0
    gamma = max(gamma, 0.0)
    p, a, total = _series(kind, terms)
    # Only the first K powers need gamma^p: beyond them (m - 1) gamma^p < 2^-64, and the rest of the
    # series is bounded below by its coefficient mass times (1 - (m - 1) gamma^{p_K}) (p increases).
    K = len(p)
    if gamma > 0.0:
        p_cut = (-64.0 * math.log(2.0) - math.log(m - 1)) / math.log(gamma)
        K = min(K, int(np.searchsorted(p, p_cut, side="right")) + 1)
    else:
        K = min(K, int(np.searchsorted(p, 0.0, side="right")) + 1)
    with np.errstate(under="ignore"):
        gp = np.where(p[:K] == 0, 1.0, gamma ** p[:K])
    pos = np.maximum(0.0, 1.0 - (m - 1) * gp)
    head = float(np.sum(a[:K] * pos))
    P = p[K] if K < len(p) else p[-1] + 2
    tail_coeff = float(np.sum(a[K:])) + _series_beyond(kind, terms)
    tail = tail_coeff * max(0.0, 1.0 - (m - 1) * gamma ** P)
    return max(0.0, (head + tail) * (1.0 - _SAFETY))


def lambda_min_Hw_bound(gamma: float, m: int) -> float:
    """beta_w(gamma, m) <= lambda_min(H^w(X)) for unit columns with (19) statistic <= gamma
    (``hadamard_series_bound``; Appendix C)."""
    return hadamard_series_bound("w", gamma, m)


def lambda_min_Hz_bound(gamma: float, m: int) -> float:
    """beta_z(gamma, m) <= lambda_min(H^z(X)) for unit columns with (19) statistic <= gamma
    (``hadamard_series_bound``; Appendix C)."""
    return hadamard_series_bound("z", gamma, m)


def kernel_bar(kind: str, gamma: float, m: int, kappa0: float = KAPPA0) -> float:
    """max(kappa_0, beta_kind(gamma, m)): the Omega(1) factor of the schema-2 thresholds of (29)
    (kind "z") and (30) (kind "w"); never below the data-independent kappa_0."""
    return max(float(kappa0), hadamard_series_bound(kind, gamma, m))
