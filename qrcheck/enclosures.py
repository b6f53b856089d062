"""Rigorous enclosures of float64 computations (issue 10, docs/properties.md "Enclosures").

Every exact statistic of (19), (22)-(29) is a function of float64 arrays computed in floating point;
this module bounds the rounding error so that a status can rest on a proof: an enclosure
``[lower, upper]`` contains the value the statistic has in real arithmetic on the given arrays.

The error model is the standard one [Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd
ed., Sec. 2.2, 3.1, 3.5]: every basic operation in round-to-nearest satisfies
fl(a op b) = (a op b)(1 + d) + e with |d| <= u = 2^-53, |e| <= eta/2, eta = 2^-1074 (e only for
products in the subnormal range; additions there are exact); inputs and results are finite (checked).
Then for a dot product of length k, in any summation order, with or without FMA (BLAS GEMM, GEMV,
numpy reductions),

    |fl(x^T y) - x^T y| <= gamma_k |x|^T |y| + k eta,        gamma_k = k u / (1 - k u),      (E1)

and |x|^T |y| <= ||x|| ||y|| (Cauchy-Schwarz). So for P = A B (inner dimension k) the radius
matrix ``c a b^T + k eta`` with ``c = gamma_k``, ``a`` and ``b`` upper bounds on the row norms of A
and column norms of B, bounds the error elementwise and costs O(Sm), no second GEMM
(:class:`ProductBound`). Numbers that bound an error are themselves computed in round-to-nearest
and then pushed outward by a relative 2^-40 and an absolute 2^-1000 (:func:`up`, :func:`dn`): every
such bound is a short chain of operations on non-negative numbers, whose relative rounding error
is at most (number of operations) * u << 2^-40.

Spectral quantities: for a symmetric float64 matrix M~ and a bound ``R >= ||M - M~||_2`` on the
distance to the true matrix M (its error of formation), Weyl's inequality gives
|lambda_i(M) - lambda_i(M~)| <= R. lambda_min(M~) > t is proved by a Cholesky factorisation of
M~ - s I that runs to completion in floating point (:func:`lambda_min_enclosure`), with s = t + c
chosen so that the backward error of Cholesky [Demmel 1989; Higham Thm 10.3:
R^T R = A + dA, |dA| <= gamma_{m+1} |R^T||R|, hence ||dA||_2 <= gamma_{m+1}/(1 - gamma_{m+1})
tr(A)] and the rounding of the shift are covered (as in Rump, "Verification of positive
definiteness", BIT 46, 2006). The upper side is a Rayleigh quotient v^T M~ v / v^T v with its own
rounding bounded by (E1); v comes from two steps of inverse iteration with that same Cholesky
factor, so it costs O(m^2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from fractions import Fraction
from typing import Any

import numpy as np
import scipy.linalg
from scipy.linalg import lapack

U = 2.0 ** -53          # unit roundoff of float64, round to nearest
ETA = 2.0 ** -1074      # smallest positive subnormal
_REL = 2.0 ** -40       # outward push of every computed bound (>> u times its few operations)
_TINY = 2.0 ** -1000    # absolute outward push (>> any accumulated subnormal error at our sizes)

#: at most this many entries of a product whose sign the rounding bound leaves open are recomputed
#: exactly in rational arithmetic (:func:`refined_product`)
EXACT_LIMIT = 4096


def up(x: Any) -> Any:
    """A float (or array) >= x, for x the float64 result of a short chain of operations."""
    x = np.asarray(x, dtype=np.float64)
    out = x + np.abs(x) * _REL + _TINY
    return float(out) if out.ndim == 0 else out


def dn(x: Any) -> Any:
    """A float (or array) <= x (mirror of :func:`up`)."""
    x = np.asarray(x, dtype=np.float64)
    out = x - np.abs(x) * _REL - _TINY
    return float(out) if out.ndim == 0 else out


def gamma(k: int) -> float:
    """An upper bound on gamma_k = k u / (1 - k u) (Higham Lemma 3.1), k u < 1/2."""
    ku = k * U
    if not ku < 0.5:
        raise ValueError(f"gamma_k undefined for k = {k}")
    return up(ku / (1.0 - ku))


@dataclass(frozen=True)
class Enclosure:
    """``lower <= (true value) <= upper`` in real arithmetic; ``value`` is the float64 statistic,
    which lies inside (the constructor widens the interval to it, which keeps it rigorous)."""

    value: float
    lower: float
    upper: float
    method: str = ""

    def __post_init__(self):
        v, lo, hi = float(self.value), float(self.lower), float(self.upper)
        if math.isnan(v):
            lo, hi = -math.inf, math.inf
        object.__setattr__(self, "value", v)
        object.__setattr__(self, "lower", min(lo, v) if not math.isnan(lo) else -math.inf)
        object.__setattr__(self, "upper", max(hi, v) if not math.isnan(hi) else math.inf)

    @property
    def radius(self) -> float:
        return max(self.value - self.lower, self.upper - self.value)

    def contains(self, x: float) -> bool:
        return self.lower <= x <= self.upper

    def to_json(self) -> dict:
        return {"value": self.value, "lower": self.lower, "upper": self.upper, "method": self.method}

    @classmethod
    def exact(cls, value: float, method: str = "exact: no rounding") -> "Enclosure":
        """A value computed without rounding (comparisons, counts, maxima of given floats)."""
        return cls(value, value, value, method)


# ---- sums of squares and norms ------------------------------------------------------------------
def sum_squares(M: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fl, lower, upper) of sum of squares along ``axis`` (axis 1: rows, 0: columns), e.g.
    ||(W0)_nu||^2 or ||X^j||^2. All terms are >= 0, so (E1) is relative:
    |fl(s) - s| <= gamma_k s + k eta."""
    M = np.asarray(M, dtype=np.float64)
    k = M.shape[axis]
    s = np.einsum("ij,ij->i", M, M) if axis == 1 else np.einsum("ij,ij->j", M, M)
    g = gamma(k)
    lo = np.maximum(dn((s - k * ETA) / (1.0 + g)), 0.0)
    hi = up((s + k * ETA) / (1.0 - g))
    return s, lo, hi


def norms(M: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fl, lower, upper) of the Euclidean norms of the rows (axis 1) or columns (axis 0) of M."""
    s, lo, hi = sum_squares(M, axis)
    return np.sqrt(s), np.maximum(dn(np.sqrt(lo)), 0.0), up(np.sqrt(hi))


def frobenius_upper(M: np.ndarray) -> float:
    """An upper bound on ||M||_F."""
    M = np.asarray(M, dtype=np.float64)
    s = float(np.einsum("ij,ij->", M, M)) if M.ndim == 2 else float(M @ M)
    k = M.size
    return up(math.sqrt(up((s + k * ETA) / (1.0 - gamma(k)))))


# ---- GEMM --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProductBound:
    """|fl(A B) - A B| <= c a b^T + k eta elementwise, A (p, k), B (k, q): ``a`` (p,) and ``b`` (q,)
    upper bounds on the row norms of A and the column norms of B, c = gamma_k ((E1) with
    Cauchy-Schwarz)."""

    a: np.ndarray
    b: np.ndarray
    c: float
    k: int

    @property
    def absolute(self) -> float:
        return self.k * ETA

    def radius(self) -> np.ndarray:
        """(p, q) elementwise error bound."""
        return up(self.c * np.outer(self.a, self.b) + self.absolute)

    def max(self) -> float:
        """The largest entry of the radius: c max(a) max(b) + k eta."""
        if not (self.a.size and self.b.size):
            return 0.0
        return up(self.c * float(np.max(self.a)) * float(np.max(self.b)) + self.absolute)

    def column_max(self) -> np.ndarray:
        """(q,) max over rows of the radius, per column."""
        return up(self.c * float(np.max(self.a)) * self.b + self.absolute) if self.a.size else \
            np.zeros_like(self.b)

    def norm2(self) -> float:
        """An upper bound on the spectral norm of the radius matrix (rank one plus a constant):
        c ||a|| ||b|| + k eta sqrt(p q)."""
        na = up(math.sqrt(up(float(self.a @ self.a))))
        nb = up(math.sqrt(up(float(self.b @ self.b))))
        return up(self.c * na * nb + self.absolute * math.sqrt(self.a.size * self.b.size))


def product_bound(A: np.ndarray, B: np.ndarray) -> ProductBound:
    """The (E1) bound of the product A @ B, A (p, k), B (k, q); O(pk + kq)."""
    k = A.shape[1]
    return ProductBound(norms(A, 1)[2], norms(B, 0)[2], gamma(k), k)


def exact_dot(x: np.ndarray, y: np.ndarray) -> Fraction:
    """x^T y in exact rational arithmetic: every float64 is p / 2^e with integers p, e, so the sum
    of the products is one integer over the largest power-of-two denominator."""
    terms = []
    for a, b in zip(np.asarray(x, dtype=np.float64).tolist(), np.asarray(y, dtype=np.float64).tolist()):
        if a != 0.0 and b != 0.0:
            pa, qa = a.as_integer_ratio()
            pb, qb = b.as_integer_ratio()
            terms.append((pa * pb, qa * qb))
    if not terms:
        return Fraction(0)
    den = max(q for _, q in terms)
    return Fraction(sum(p * (den // q) for p, q in terms), den)


@dataclass(frozen=True)
class RefinedProduct:
    """P = A @ B in float64 with the entries whose sign the rounding bound leaves open
    (|fl P| <= radius) replaced by their exact values rounded to float64.

    P : (p, q) the product; bound : its :class:`ProductBound` (valid for P as returned: a correctly
    rounded exact entry is within u |P| of the truth, below the radius); refined : flat indices
    recomputed exactly; exact : their exact values (Fractions), same order; complete : False when
    more than ``EXACT_LIMIT`` entries were open (the rest keep their float value and an open sign).
    """

    P: np.ndarray
    bound: ProductBound
    refined: np.ndarray
    exact: tuple
    complete: bool

    @property
    def signs_exact(self) -> bool:
        """True when every entry's sign (and so the activation pattern 1(P > 0)) is the true one."""
        return self.complete


def refined_product(A: np.ndarray, B: np.ndarray, P: np.ndarray | None = None,
                    limit: int = EXACT_LIMIT) -> RefinedProduct:
    """A @ B, A (p, k), B (k, q), with the sign-ambiguous entries recomputed exactly (``P``: the
    float product if already computed; it is not modified).

    Used for P0 = W0 X: a row of W0 exactly orthogonal to a data point then gives an exact 0 (not
    GEMM's 1e-17), and a true 4e-20 that GEMM cancels to 0 gives 4e-20. Typically no entry is open
    (min |P0| ~ 1e-6 against a radius ~ gamma_n ||w|| ||x|| ~ 1e-13): then the cost beyond the GEMM
    is the row and column norms and one pass for min |P|."""
    P = A @ B if P is None else P
    bound = product_bound(A, B)
    none = np.zeros(0, dtype=np.intp)
    if not np.all(np.isfinite(P)):
        return RefinedProduct(P, bound, none, (), False)
    rmax = bound.max()
    if not P.size or float(np.min(np.abs(P))) > rmax:
        return RefinedProduct(P, bound, none, (), True)
    q = P.shape[1]
    cand = np.flatnonzero(np.abs(P) <= rmax)
    i, j = np.divmod(cand, q)
    r = up(bound.c * bound.a[i] * bound.b[j] + bound.absolute)
    open_ = cand[np.abs(P.flat[cand]) <= r]
    # the ``limit`` smallest first: the minimum (25) looks at is always recomputed exactly
    todo = open_ if open_.size <= limit else open_[np.argsort(np.abs(P.flat[open_]), kind="stable")[:limit]]
    exact = []
    if todo.size:
        P = P.copy()
        for f in todo.tolist():
            ii, jj = divmod(f, q)
            e = exact_dot(A[ii], B[:, jj])
            exact.append(e)
            P[ii, jj] = float(e)
    return RefinedProduct(P, bound, todo, tuple(exact), open_.size <= limit)


# ---- entrywise statistics of a product (25), (26), (28), (19) -------------------------------------
def _refined_abs(rp: RefinedProduct) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) of |true P| at the exactly recomputed entries."""
    vals = np.array([abs(float(e)) for e in rp.exact])
    zero = np.array([e == 0 for e in rp.exact])
    return (np.where(zero, 0.0, np.maximum(dn(vals), 0.0)), np.where(zero, 0.0, up(vals)))


def min_abs(rp: RefinedProduct, value: float | None = None) -> Enclosure:
    """(25): min over entries of |P| for P = rp.P (statistic; ``value`` if already computed), and
    an enclosure of the true min |A B|: every non-refined entry is within the largest radius r of its
    float value, so the true minimum over them lies in [(v - r)_+, v + r]; refined entries are exact.
    An exactly zero entry gives upper = 0 (a proof of failure), an exactly non-zero minimum a
    positive lower end."""
    method = "(E1) with Cauchy-Schwarz; open signs recomputed in rational arithmetic"
    if not rp.P.size:
        return Enclosure(math.inf, math.inf, math.inf, "empty")
    r = rp.bound.max()
    if not rp.complete:
        v = float(np.min(np.abs(rp.P))) if value is None else value
        # too many open signs to refine them all: the lower end is 0; the smallest ones were
        # recomputed exactly, so an exact zero among them still proves failure
        zero = any(e == 0 for e in rp.exact)
        return Enclosure(v, 0.0, 0.0 if zero else up(v + r), method + " (too many open signs: lower end 0)")
    if not len(rp.refined):
        v = float(np.min(np.abs(rp.P))) if value is None else value
        return Enclosure(v, max(dn(v - r), 0.0), up(v + r), method)
    a = np.abs(rp.P)
    v = float(a.min())
    rest = np.delete(a.ravel(), rp.refined)
    lo_e, hi_e = _refined_abs(rp)
    lo = min(float(lo_e.min()), max(dn(float(rest.min()) - r), 0.0) if rest.size else math.inf)
    hi = min(float(hi_e.min()), up(float(rest.min()) + r) if rest.size else math.inf)
    return Enclosure(v, lo, hi, method)


def max_abs(rp: RefinedProduct, value: float | None = None) -> Enclosure:
    """(26): max |P| (``value`` if already computed) and its enclosure [(v - r)_+, v + r], r the
    largest radius (refined entries are within it too)."""
    if not rp.P.size:
        return Enclosure(0.0, 0.0, 0.0, "empty")
    v = float(np.max(np.abs(rp.P))) if value is None else value
    r = rp.bound.max()
    return Enclosure(v, max(dn(v - r), 0.0), up(v + r), "(E1) with Cauchy-Schwarz")


def gram_bound(X: np.ndarray) -> ProductBound:
    """The (E1) bound of X^T X, X (n, m): radius c b b^T + n eta, b the column norms' upper ends."""
    b = norms(X, 0)[2]
    return ProductBound(b, b, gamma(X.shape[0]), X.shape[0])


def max_offdiag_abs(gram: np.ndarray | None, bound: ProductBound, value: float | None = None) -> Enclosure:
    """(19): max over j != j' of |(X^T X)_{jj'}| (statistic from ``gram`` (m, m), or ``value``, e.g.
    from row blocks, with ``gram`` None) with its enclosure [(v - r)_+, v + r], r the largest radius:
    every computed entry, however the blocks were formed, is a dot product within r of the true one."""
    if gram is not None and gram.shape[0] < 2:
        return Enclosure(math.nan, -math.inf, math.inf, "no pairs")
    if value is None:
        a = np.abs(gram)
        np.fill_diagonal(a, -1.0)
        value = float(a.max())
    r = bound.max()
    return Enclosure(value, max(dn(value - r), 0.0), up(value + r), "(E1) with Cauchy-Schwarz")


def max_cosine_upper(gram_enclosure: Enclosure, X: np.ndarray) -> float:
    """An upper bound on max_{j != j'} |<X^j, X^j'>| / (||X^j|| ||X^j'||) (at most 1): the (19)
    upper end divided by the smallest squared column norm's lower end. Feeds the Appendix C bounds
    (kernels.hadamard_series_bound) of the (29), (30) thresholds."""
    d_lo = float(np.min(sum_squares(X, 0)[1]))
    if not d_lo > 0 or not math.isfinite(gram_enclosure.upper):
        return 1.0
    return min(1.0, up(gram_enclosure.upper / d_lo))


def good_behaviour(value: float, S: int, bound: ProductBound) -> Enclosure:
    """(28): the statistic V = max over j, k of k / (S a_(k),j + 1) (a_(k),j the k-th smallest
    |(W0 X)_{nu j}|). The true k-th smallest of a column is within r (the largest radius) of the
    computed one (order statistics are 1-Lipschitz in the max norm), and
    (S a + 1) / (S (a +- r)_+ + 1) lies in [1 / (1 + S r), 1 + S r], so the true statistic lies in
    [V / (1 + S r), V (1 + S r)]. O(1) given V."""
    f = up(1.0 + S * bound.max())
    return Enclosure(value, dn(value / f), up(value * f), "(E1), order statistics")


def output_bound(F: np.ndarray, z: np.ndarray, f: np.ndarray, bound: ProductBound) -> np.ndarray:
    """(27): elementwise error bound (m,) of f = fl(F^T z), F = relu(fl(W0 X)) (S, m), against the
    true relu(W0 X)^T z: relu is 1-Lipschitz, so |F - F_true| <= radius (``bound``), and
    |f - f_true| <= gamma_S F^T |z| + radius^T |z| + S eta."""
    S = F.shape[0]
    az = np.abs(z)
    Fz = F.T @ az   # >= 0; fl(Fz) >= (1 - gamma_S) F^T|z| - S eta
    gS = gamma(S)
    t1 = up(gS * up((Fz + S * ETA) / (1.0 - gS)))
    a_z = up(float(bound.a @ az) * (1.0 + gS))
    t2 = up(bound.c * a_z * bound.b + bound.absolute * up(float(az.sum()) * (1.0 + gS)))
    return up(t1 + t2 + S * ETA)


def max_abs_vector(f: np.ndarray, rad: np.ndarray) -> Enclosure:
    """max |f| with |f - f_true| <= rad elementwise."""
    a = np.abs(f)
    return Enclosure(float(a.max()), float(np.max(np.maximum(dn(a - rad), 0.0))), float(np.max(up(a + rad))),
                     "(E1)")


# ---- symmetric matrices: formation errors ----------------------------------------------------------
def sym_norm_upper(R: np.ndarray) -> float:
    """An upper bound on ||R||_2 for an elementwise non-negative symmetric R (m, m):
    min(||R||_F, max row sum) (the max row sum is ||R||_inf >= rho(R) = ||R||_2)."""
    R = np.asarray(R, dtype=np.float64)
    m = R.shape[0]
    fro = up(math.sqrt(up(float(np.einsum("ij,ij->", R, R)) * (1.0 + gamma(m * m)))))
    row = up(float(np.max(R.sum(axis=1))) * (1.0 + gamma(m))) if m else 0.0
    return min(fro, row)


def G_error(F: np.ndarray, bound: ProductBound) -> float:
    """An upper bound on ||fl(F^T F) - F_true^T F_true||_2 for (29), F = relu(fl P0) (S, m) with
    |F - F_true| <= radius (``bound`` of P0 = W0 X). With D = F_true - F, ||D||_2 <= ||radius||_2,
    ||F^T F - F_true^T F_true|| <= 2 ||F|| ||D|| + ||D||^2, and (E1) for the GEMM of non-negative
    F: |fl(F^T F) - F^T F| <= gamma_S F^T F + S eta, of norm <= gamma_S ||F||_F^2 + m S eta."""
    S, m = F.shape
    nF = frobenius_upper(F)
    nD = bound.norm2()
    gS = gamma(S)
    return up(2.0 * nF * nD + nD * nD + up(gS * nF * nF) + m * S * ETA)


def H_error(K: np.ndarray, gram_absmax: float, gbound: ProductBound, K_rel: float, K_abs: float = 0.0) -> float:
    """An upper bound on ||fl(gram o K) - gram_true o K_true||_2 for H = (X^T X) o K (m, m), K >= 0
    elementwise, with |gram - gram_true| <= r (``gbound.max()``), |gram| <= g (``gram_absmax``) and
    |K - K_true| <= K_rel K + K_abs (K = A^T diag(z^2) A: ``K_rel_weighted(S)``; K = A_Gamma^T A_Gamma,
    0/1 counts: K_rel = K_abs = 0, exact). Elementwise
    |H - H_true| <= (r + (g + r) K_rel + u g (1 + K_rel)) K + (g + r) K_abs, and ||K||_2 is at
    most its largest row sum (K >= 0). O(m^2), one pass over K."""
    m = K.shape[0]
    if m == 0:
        return 0.0
    r = gbound.max()
    g = float(gram_absmax)
    Knorm = up(float(np.max(K.sum(axis=1))) * (1.0 + gamma(m)))
    coef = up(r + up((g + r) * K_rel) + U * g * (1.0 + K_rel))
    return up(coef * Knorm + up((g + r) * K_abs) * m)


def K_rel_weighted(S: int) -> float:
    """Relative error bound of K = fl(A^T (A z^2)) (non-negative terms, one rounding in z^2)."""
    g = gamma(S + 1)
    return up(g / (1.0 - g))


# ---- verified eigenvalue bounds --------------------------------------------------------------------
def _chol_shift_constant(M: np.ndarray, t: float) -> float:
    """c such that a completed floating-point Cholesky of fl(M - (t + c) I) proves M - t I > 0."""
    m = M.shape[0]
    d = np.abs(np.diag(M))
    alpha = gamma(m + 1)
    alpha = up(alpha / (1.0 - alpha))
    tr = up(float(d.sum()) * (1.0 + gamma(m)))
    dmax = float(d.max()) if m else 0.0

    def c_for(T: float) -> float:
        # ||dA|| <= alpha tr(A2), tr(A2) <= tr|M| + m T; shift rounding: u (max|M_ii| + T)
        return up(alpha * up(tr + m * T) + 2.0 * U * up(dmax + T) + 4.0 * m * m * ETA)

    c0 = c_for(abs(t))
    return c_for(abs(t) + 2.0 * c0)


def is_pd_shift(M: np.ndarray, t: float) -> tuple[bool, np.ndarray | None, float]:
    """Proves lambda_min(M) > t for the symmetric float64 M (m, m) exactly as stored (True), or
    says nothing (False): Cholesky of fl(M - (t + c) I), c from the Cholesky backward error. Returns
    (proved, the upper Cholesky factor or None, the shift s = t + c actually used)."""
    s = t + _chol_shift_constant(M, t)  # its rounding is inside the constant's 2u (max|M_ii| + T)
    A2 = np.array(M, dtype=np.float64, order="F", copy=True)
    A2[np.diag_indices_from(A2)] -= s
    R, info = lapack.dpotrf(A2, lower=0, clean=1, overwrite_a=1)
    if info != 0 or not np.all(np.isfinite(np.diag(R))):
        return False, None, s
    return True, R, s


def rayleigh_upper(M: np.ndarray, v: np.ndarray) -> float:
    """A rigorous upper bound on v^T M v / v^T v >= lambda_min(M), M (m, m) symmetric float64."""
    m = M.shape[0]
    y = M @ v
    num = float(v @ y)
    av = np.abs(v)
    g = gamma(m)
    # |fl(Mv) - Mv| <= g |M||v| + m eta; |fl(v.y) - v.y| <= g |v|.|y| + m eta
    Mav = np.abs(M) @ av
    err = up(g * up(float(av @ Mav) * (1.0 + g)) + up(g * float(av @ np.abs(y)) * (1.0 + g))
             + up(g * g * float(av @ Mav) * (1.0 + g)) + m * (m + 2) * ETA)
    den = float(v @ v)
    den_lo = dn(den / (1.0 + g) - m * ETA)
    den_hi = up(den / (1.0 - g) + m * ETA)
    top = up(num + err)
    if not den_lo > 0:
        return math.inf
    return up(top / den_lo) if top >= 0 else up(top / den_hi)


@dataclass(frozen=True)
class EigenBound:
    """An enclosure of lambda_min (or lambda_max) of the true matrix: ``value`` the LAPACK value of
    the float64 matrix, [lower, upper] proved; ``error`` the formation-error bound R used (Weyl)."""

    value: float
    lower: float
    upper: float
    error: float
    method: str

    def enclosure(self) -> Enclosure:
        return Enclosure(self.value, self.lower, self.upper, self.method)


def lambda_min_enclosure(M: np.ndarray, error: float = 0.0, value: float | None = None,
                         tries: int = 6) -> EigenBound:
    """lambda_min of the true symmetric matrix within ``error`` (2-norm) of the float64 M (m, m).

    value : LAPACK's lambda_min(M) if already computed (eigvalsh otherwise).
    lower : t - error where fl-Cholesky proves M - t I > 0 (``is_pd_shift``), t = value - margin,
        margin doubling from the Cholesky constant (plus 32 m u max|lambda|) up to ``tries`` times;
        -inf when no try succeeds.
    upper : Rayleigh quotient bound of the bottom eigenvector from two inverse-iteration steps with
        that Cholesky factor (a shifted solve), + error.
    """
    M = np.asarray(M, dtype=np.float64)
    m = M.shape[0]
    if m == 0:
        return EigenBound(math.inf, math.inf, math.inf, error, "empty")
    if not np.all(np.isfinite(M)):
        return EigenBound(math.nan, -math.inf, math.inf, error, "non-finite matrix")
    if value is None:
        value = float(scipy.linalg.eigvalsh(M, subset_by_index=[0, 0], check_finite=False)[0])
    scale = float(np.max(np.abs(np.diag(M)))) + abs(value)
    margin = up(_chol_shift_constant(M, value) + 32.0 * m * U * scale) + 1e-300
    lower, R = -math.inf, None
    for _ in range(tries):
        ok, Rf, s = is_pd_shift(M, value - margin)
        if ok:
            lower, R = dn(value - margin), Rf
            break
        margin *= 16.0
    if R is not None:
        v = np.ones(m) / math.sqrt(m)
        for _ in range(2):  # inverse iteration with the factor of M - s I (s just below lambda_min)
            with np.errstate(over="ignore", invalid="ignore"):
                w = scipy.linalg.cho_solve((R, False), v, check_finite=False)
                top = float(np.max(np.abs(w)))
                if not (np.isfinite(top) and top > 0):
                    break
                w = w / top
            v = w / np.linalg.norm(w)
        hi = rayleigh_upper(M, v)
    else:
        hi = rayleigh_upper(M, np.eye(m)[int(np.argmin(np.diag(M)))])
    hi = min(hi, up(float(np.min(np.diag(M)))))  # e_j^T M e_j = M_jj, exact
    return EigenBound(value, dn(lower - error) if math.isfinite(lower) else -math.inf,
                      up(max(hi, value) + error), error,
                      "Weyl + verified Cholesky of M - tI (lower), Rayleigh quotient (upper)")


def lambda_max_enclosure(M: np.ndarray, error: float = 0.0, value: float | None = None) -> EigenBound:
    """lambda_max of the true symmetric matrix within ``error`` of M: -lambda_min(-M)."""
    M = np.asarray(M, dtype=np.float64)
    if value is None and M.shape[0]:
        value = float(scipy.linalg.eigvalsh(M, subset_by_index=[M.shape[0] - 1, M.shape[0] - 1],
                                            check_finite=False)[0])
    b = lambda_min_enclosure(-M, error, None if value is None else -value)
    return EigenBound(-b.value, -b.upper, -b.lower, error, "Weyl + verified Cholesky of tI - M (upper), "
                      "Rayleigh quotient (lower)")


def spectral_norm_sq_upper(X: np.ndarray, value: float | None = None) -> float:
    """An upper bound on ||X||^2 = lambda_max(X X^T) (or X^T X, the smaller), X (n, m): the Gram
    matrix's formation error is at most gamma_k ||X||_F^2 (rank-one radius of row norms)."""
    n, m = X.shape
    M = X @ X.T if n <= m else X.T @ X
    k = m if n <= m else n
    err = up(gamma(k) * frobenius_upper(X) ** 2 + k * ETA * max(n, m))
    return lambda_max_enclosure(M, err, value).upper


def spectral_norm_upper(X: np.ndarray, value: float | None = None) -> float:
    """An upper bound on ||X|| (``value``: a computed ||X||, if any, to save the eigensolve)."""
    v2 = None if value is None else float(value) ** 2
    return up(math.sqrt(max(spectral_norm_sq_upper(X, v2), 0.0)))


def lambda_max_batched_upper(Ms: np.ndarray, values: np.ndarray, error: np.ndarray | float) -> np.ndarray:
    """Upper bounds on lambda_max of a stack of symmetric matrices Ms (b, k, k) within ``error`` of the
    true ones, from computed values (b,): batched Cholesky of (t - c) I - M with t = value + margin;
    a matrix whose factorisation fails falls back to the one-matrix :func:`lambda_max_enclosure`."""
    Ms = np.asarray(Ms, dtype=np.float64)
    b, k, _ = Ms.shape
    err = np.broadcast_to(np.asarray(error, dtype=np.float64), (b,))
    out = np.empty(b)
    d = np.abs(np.diagonal(Ms, axis1=1, axis2=2))
    alpha = gamma(k + 1)
    alpha = up(alpha / (1.0 - alpha))
    scale = d.max(axis=1) + np.abs(values)
    tr = up(d.sum(axis=1) * (1.0 + gamma(k)))
    # prove t I - M > 0 (lambda_max(M) < t) by a completed Cholesky of fl((t - c) I - M), the
    # mirror of ``is_pd_shift`` on -M
    T0 = np.abs(values) + 64.0 * k * U * scale
    c = up(alpha * up(tr + k * (T0 * 2.0)) + 2.0 * U * up(d.max(axis=1) + T0 * 2.0) + 4.0 * k * k * ETA)
    margin = up(2.0 * c + 32.0 * k * U * scale) + 1e-300
    t = up(values + margin)
    A2 = -Ms.copy()
    idx = np.arange(k)
    A2[:, idx, idx] += (t - c)[:, None]
    try:
        np.linalg.cholesky(A2)
        ok = np.ones(b, dtype=bool)
    except np.linalg.LinAlgError:
        ok = np.zeros(b, dtype=bool)
    ok &= 2.0 * T0 >= np.abs(t)  # the constant c assumed |t| <= 2 T0
    if ok.all():
        return up(t + err)
    for i in range(b):
        out[i] = lambda_max_enclosure(Ms[i], float(err[i]), float(values[i])).upper
    return out


# ---- matrix-free NTK: rank, Rayleigh bounds ------------------------------------------------------
def rank_zero(value: float, what: str, rank: str) -> EigenBound:
    """lambda_min of a Gram matrix of fewer vectors than its size m: exactly 0 in real arithmetic
    (rank <= ``rank`` < m), whatever the rounding of its factors; ``value`` the computed one."""
    v = float(value)
    return EigenBound(v, min(v, 0.0), max(v, 0.0), 0.0, f"rank: {what} is PSD of rank <= {rank} < m")


def _norm_upper(v: np.ndarray) -> float:
    return frobenius_upper(np.asarray(v, dtype=np.float64).reshape(1, -1))


def _quotient_upper(num_sqrt_upper: float, v: np.ndarray) -> float:
    """An upper bound on num / ||v||^2 from an upper bound on sqrt(num) >= 0."""
    _, lo, _ = sum_squares(np.asarray(v, dtype=np.float64)[None, :], 1)
    return up(up(num_sqrt_upper * num_sqrt_upper) / float(lo[0])) if lo[0] > 0 else math.inf


def gram_rayleigh_upper(F: np.ndarray, bound: ProductBound, v: np.ndarray) -> float:
    """A rigorous upper bound on v^T G v / v^T v >= lambda_min(G) for the true G = F_t^T F_t, F (S, m)
    = relu(fl P0) with |F - F_t| <= radius (``bound`` of P0): ||F_t v|| <= ||fl(F v)|| + gamma_m
    ||F||_F ||v|| + sqrt(S) m eta + ||radius||_2 ||v|| ((E1) and Weyl). O(Sm), no m x m array."""
    S, m = F.shape
    nv = _norm_upper(v)
    top = up(_norm_upper(F @ v) + up(gamma(m) * frobenius_upper(F) * nv) + math.sqrt(S) * m * ETA
             + up(bound.norm2() * nv))
    return _quotient_upper(top, v)


def khatri_rao_rayleigh_upper(A: np.ndarray, X: np.ndarray, v: np.ndarray, z: np.ndarray | None = None) -> float:
    """A rigorous upper bound on v^T H v / v^T v >= lambda_min(H), H = (X^T X) o (A^T diag(z^2) A)
    (identity (7); z None: weights 1), A (S, m) the true 0/1 pattern, X (n, m):
    v^T H v = sum_nu z_nu^2 ||X (a_nu o v)||^2 = ||diag(|z|) Y||_F^2 with Y = (A o v) X^T (S, n),
    and |fl(Y) - Y| <= gamma_m |A o v| |X|^T + m eta, of Frobenius norm <= gamma_m ||A o v||_F ||X||_F
    + sqrt(S n) m eta. One GEMM of S x m x n, no m x m array."""
    S, m = A.shape
    n = X.shape[0]
    Av = A * v[None, :]   # exact: A is 0/1
    Y = Av @ X.T
    zz = np.ones(S) if z is None else np.abs(np.asarray(z, dtype=np.float64))
    errF = up(gamma(m) * frobenius_upper(Av) * frobenius_upper(X) + math.sqrt(S * n) * m * ETA)
    top = up(up(frobenius_upper(zz[:, None] * Y) * (1.0 + 2.0 * U)) + up(float(zz.max(initial=0.0)) * errF))
    return _quotient_upper(top, v)


def matrix_free_bound(ext: Any, rayleigh, diag: np.ndarray) -> EigenBound:
    """The enclosure of lambda_min of a PSD matrix known only through products (``q.matrix_free``):
    lower 0 (positive semidefinite in real arithmetic), upper the rigorous Rayleigh bound
    ``rayleigh(v)`` of the iterative method's unit vector (``ext.vector``, a ``spectral.Extreme``),
    or of the basis vector at the smallest computed diagonal entry ``diag`` (m,) when it has none.
    ``ext.lower`` (``lower_kind`` "residual") is not used: no residual proves it."""
    v = ext.vector
    if v is None:
        v = np.zeros(diag.size)
        v[int(np.argmin(diag))] = 1.0
    return EigenBound(float(ext.value), 0.0, max(rayleigh(v), float(ext.value)), 0.0,
                      f"matrix-free ({ext.method}): lower 0 (PSD), upper a rigorous Rayleigh bound "
                      "of its vector; its residual-kind lower end proves nothing")


# ---- (20): Gershgorin over every k ------------------------------------------------------------------
def gershgorin_all_k_upper(row_cumsum: np.ndarray, d_upper: np.ndarray, bound: ProductBound,
                           m: int | None = None) -> np.ndarray:
    """(K + 1,): entry k-1 bounds max_{|J|=k} ||X^J||^2 from above for k = 1..K+1 (every k when
    K + 1 = m, the number of data points; default ``row_cumsum.shape[1]``).

    row_cumsum (b, K + 1): for b of the rows j (all m, or one row block: ``search.row_cumsum``),
    entry k-1 = sum of the k-1 largest computed |<X^j, X^j'>|, j' != j; d_upper (b,): upper ends of
    their ||X^j||^2. Gershgorin on the k x k Gram of any J gives max_j (||X^j||^2 + sum of the k-1
    largest true |<X^j, X^j'>|), and each true entry is within r (the largest radius) of its
    computed value, so the k-1 largest true ones sum to at most the computed sum + (k-1) r. The
    maximum is over the given rows: over all m rows it is a running maximum of the blocks' results
    (``search.sorted_rows``). O(b K) on the existing cumulative sums."""
    m = row_cumsum.shape[1] if m is None else m
    k1 = np.arange(row_cumsum.shape[1], dtype=np.float64)  # k - 1
    # rounding to nearest and ``up`` are non-decreasing, so the maximum over rows may be taken right
    # after the first addition: the same floats as up((d + cs + (k-1) r) (1 + gamma)).max(axis=0)
    top = (d_upper[:, None] + row_cumsum).max(axis=0) if row_cumsum.shape[0] else np.full(k1.size, -np.inf)
    return up((top + k1 * bound.max()) * (1.0 + gamma(m + 2)))


def gershgorin_tail_upper(head_upper: float, kth: float, K: int, m: int, bound: ProductBound) -> np.ndarray:
    """(m - 1 - K,): upper bounds on max_{|J|=k} ||X^J||^2 for k - 1 = K+1..m-1 from the K largest
    computed |<X^j, X^j'>| of each row only: the k - 1 largest sum to at most the K largest plus
    (k - 1 - K) times the K-th largest, so with ``head_upper`` >= max_j (||X^j||^2 upper end + the
    computed sum of the K largest) and ``kth`` >= every row's K-th largest, Gershgorin and (E1)
    give (head + (k - 1 - K) kth + (k - 1) r) (1 + gamma_{m+4}) (the chain has at most K + 5
    roundings of non-negative terms)."""
    k1 = np.arange(K + 1, m, dtype=np.float64)
    return up((head_upper + (k1 - K) * kth + k1 * bound.max()) * (1.0 + gamma(m + 4)))


# ---- (21): a witness direction ------------------------------------------------------------------------
def residual_norm_upper(Y: np.ndarray, xi: np.ndarray) -> float:
    """An upper bound on ||Y^T xi|| / ||xi||, Y (n, k), xi (n,): witness value of (21)
    (sigma_min(Y^T) <= it)."""
    n = Y.shape[0]
    r = Y.T @ xi
    g = gamma(n)
    rad = up(g * norms(Y, 0)[2] * up(float(np.linalg.norm(xi)) * (1.0 + g)) + n * ETA)
    num = up(math.sqrt(up(float(np.sum(up(np.abs(r) + rad) ** 2)) * (1.0 + gamma(r.size)))))
    _, lo, _ = sum_squares(np.asarray(xi, dtype=np.float64)[None, :], 1)
    den = dn(math.sqrt(float(lo[0])))
    return up(num / den) if den > 0 else math.inf


def canonical_order(W0: np.ndarray, z0: np.ndarray | None = None) -> np.ndarray:
    """A permutation of the S neurons that depends only on the set of rows (W0_nu, z0_nu): the
    lexicographic order. Sums over neurons (G0 = F0^T F0, H0, f0) computed in this order give the
    same float64 result for every permutation of the neurons, so (29)'s status cannot depend on it."""
    keys = [W0[:, i] for i in range(W0.shape[1] - 1, -1, -1)]
    if z0 is not None:
        keys = [np.asarray(z0)] + keys
    return np.lexsort(keys)


# ---- one draw ---------------------------------------------------------------------------------------
class DrawBounds:
    """Rigorous enclosures of one draw's exact statistics, computed lazily from the draw's
    quantities ``q`` (a :class:`qrcheck.quantities.Quantities`: X, W0, z0, gram, P0_product, F0, f0,
    G0, K0, H0 and their LAPACK eigenvalues), reusing everything they already computed.

    Each ``eNN`` is an :class:`Enclosure` of the CONTRACT statistic of (NN); ``H0`` encloses
    lambda_min(H0); ``X_norm_upper``, ``gershgorin_upper`` (every k) and ``gamma_bar`` feed the
    proved bounds and thresholds of (20), (21), (29), (30).
    """

    def __init__(self, q: Any):
        self.q = q

    @cached_property
    def gram_bound(self) -> ProductBound:
        return gram_bound(self.q.X)

    @cached_property
    def column_sq(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(fl, lower, upper) of ||X^j||^2."""
        return sum_squares(self.q.X, 0)

    @cached_property
    def e19(self) -> Enclosure:
        if self.q.m < 2:
            return Enclosure(math.nan, -math.inf, math.inf, "no pairs")
        return max_offdiag_abs(None, self.gram_bound, self.q.offdiag_abs_max[0])

    @cached_property
    def gamma_bar(self) -> float:
        """Upper bound on every cosine between two data points (1 without pairs' data: m < 2 gives
        no constraint, and kernels.hadamard_series_bound treats m = 1 separately)."""
        if self.q.m < 2:
            return 0.0
        return max_cosine_upper(self.e19, self.q.X)

    @cached_property
    def row_norms(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(fl, lower, upper) of ||(W0)_nu||."""
        return norms(self.q.W0, 1)

    @cached_property
    def e22(self) -> Enclosure:
        v, lo, hi = self.row_norms
        return Enclosure(float(v.min()), float(lo.min()), float(hi.min()), "sum of squares, (E1)")

    @cached_property
    def e25(self) -> Enclosure:
        return min_abs(self.q.P0_product)

    @cached_property
    def e26(self) -> Enclosure:
        return max_abs(self.q.P0_product)

    @cached_property
    def e27(self) -> Enclosure:
        q = self.q
        o = q.neuron_order
        return max_abs_vector(q.f0, output_bound(q.F0[o], q.z0[o], q.f0, q.P0_product.bound))

    def e28(self, value: float) -> Enclosure:
        return good_behaviour(value, self.q.S, self.q.P0_product.bound)

    @cached_property
    def G0_error(self) -> float:
        return G_error(self.q.F0, self.q.P0_product.bound)

    @cached_property
    def e29(self) -> EigenBound:
        """lambda_min(G0): exactly 0 when m > S (rank, :func:`rank_zero`); else a verified Cholesky of
        the formed G0 with Weyl's G0_error, or, when ``q.matrix_free``, [0, the Rayleigh bound of the
        Lanczos vector] (:func:`matrix_free_bound`): the iterative value's own lower end is only
        "residual"-kind, so it proves nothing and the row cannot be ``certified``."""
        q = self.q
        if q.m > q.S:
            return rank_zero(q.lambda_min_G0, "G0 = F0^T F0", "S")
        if q.matrix_free:
            F = q.F0[q.neuron_order]
            return matrix_free_bound(q.G0_extreme, lambda v: gram_rayleigh_upper(F, q.P0_product.bound, v),
                                     np.einsum("ij,ij->j", F, F))
        return lambda_min_enclosure(q.G0, self.G0_error, q.lambda_min_G0)

    @cached_property
    def H0(self) -> EigenBound:
        """lambda_min(H0) (first-layer NTK): exactly 0 when m > S n (rank); otherwise the activation
        pattern must be the true one; a verified Cholesky of the formed H0, or, when ``q.matrix_free``,
        [0, a Rayleigh bound] as :attr:`e29`."""
        q = self.q
        if q.m > q.S * q.n:
            return rank_zero(q.lambda_min_H0, "H0 = (A0 * X)^T diag(z0^2) (A0 * X)", "S n")
        if not q.P0_product.signs_exact:
            return EigenBound(q.lambda_min_H0, -math.inf, math.inf, math.inf,
                              "too many activation signs left open by rounding")
        if q.matrix_free:
            o = q.neuron_order
            A, w = q.A0[o].astype(np.float64), q.z0[o] ** 2
            diag = np.einsum("sj,s->j", A, w) * self.column_sq[0]
            return matrix_free_bound(q.H0_extreme, lambda v: khatri_rao_rayleigh_upper(A, q.X, v, q.z0[o]), diag)
        err = H_error(q.K0, float(np.max(np.abs(q.gram))) if q.m else 0.0, self.gram_bound,
                      K_rel_weighted(q.S), q.S * ETA)
        return lambda_min_enclosure(q.H0, err, q.lambda_min_H0)

    @cached_property
    def X_norm_sq_upper(self) -> float:
        return spectral_norm_sq_upper(self.q.X, self.q.X_norm ** 2)

    @cached_property
    def X_norm_upper(self) -> float:
        return up(math.sqrt(max(self.X_norm_sq_upper, 0.0)))

    @cached_property
    def gershgorin_upper(self) -> np.ndarray:
        """(m,): entry k-1 >= max_{|J|=k} ||X^J||^2 (every k)."""
        return self.q.gram_sorted().gershgorin_upper

    @cached_property
    def lambda_min_XXt_lower(self) -> float:
        """A lower bound on lambda_min(X X^T) (0 when m < n)."""
        q = self.q
        if q.m < q.n:
            return 0.0
        M = q.X @ q.X.T
        err = up(gamma(q.m) * frobenius_upper(q.X) ** 2 + q.m * q.n * ETA)
        return max(lambda_min_enclosure(M, err, q.lambda_min_XXt).lower, 0.0)
