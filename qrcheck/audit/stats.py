"""The audit's own statistics of (19)-(30), with rigorous enclosures, written from CONTRACT's table
(dense and simple: every matrix is formed, nothing is searched).

:class:`Quantities` holds the products of one draw with entrywise error bounds
(:mod:`qrcheck.audit.enclose`): ``P = W0 X``, ``G = X^T X``, ``F0 = relu(P)``, ``f0 = F0^T z0``.
:func:`exact` gives, for the exact properties (19), (22)-(29), an :class:`Enclosure` of the value in
real arithmetic on the given float64 arrays. The search properties (20), (21), (30) are re-derived
by :func:`value_20`, :func:`value_21`, :func:`value_30` (the value at a claimed witness, enclosed) and
:func:`bound_20`, :func:`bound_21`, :func:`bound_30` (a proven bound over the whole family, computed
densely by the audit from the same mathematics the paper's appendices use: the operator-norm and
Gershgorin bounds for (20), Weyl's inequality for (21) and (30)).

Above :data:`DENSE_M` (``Quantities.blocked``) no m x m array is formed, so memory stays
O(Sm + Sn + nm + b m), b the rows of one block (:data:`BLOCK_ELEMS`):

- X^T X is read in row blocks (:attr:`Quantities.gram_pass`, one pass): (19)'s maximum off-diagonal
  |G_jj'| and its enclosure, (20)'s Gershgorin table (a running maximum over the blocks of each row's
  |G_jj| plus its k-1 largest other |G_jj'|, rows sorted block by block), the diagonal, and the k = 2
  maximum of (20); the same entrywise error bound as the dense path;
- ||X^J||^2 for |J| > n from the n x n X^J (X^J)^T (the same nonzero eigenvalues as (X^J)^T X^J), and
  ||X||^2 from X X^T;
- (29) when m > S: G0 = F0^T F0 has rank at most S < m and is positive semidefinite, so
  lambda_min(G0) = 0 exactly (the enclosure [0, 0]; a claimed float value is accepted within the
  rounding level of an eigensolver, ``noise``);
- everything else that needs an eigenvalue of an m x m matrix (lambda_min(G0) when m <= S, H0, the
  limit kernels, H_Gamma of (30)) raises :class:`~qrcheck.audit.ledger.Unverifiable` (a claim the
  audit cannot vouch for at this size: exit 3) or is skipped where no status depends on it.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Mapping

import numpy as np

from . import enclose as en
from .ledger import Unverifiable

REFINE_MAX = 20_000  # entries of W0 X whose open sign is recomputed exactly
ENUMERATE = 2000  # (20): every subset of size k is examined when there are at most this many
ENUMERATE_FLOPS = 2 * 10**7  # ... and their k x k eigenproblems cost at most about this much
DENSE_M = 6000
"""Above this m the audit forms no m x m array (module docstring). The number is the verify side's
``qrcheck.spectral.DENSE_M_LIMIT``, written here again: the audit imports nothing of verify."""
BLOCK_ELEMS = 1 << 22
"""Entries of one row block of X^T X (b = BLOCK_ELEMS // m rows of m): 32 MiB per block array."""


@dataclass(frozen=True)
class Enclosure:
    """A float64 ``value`` and a rigorous enclosure ``[lo, hi]`` of the real value it computes."""

    lo: float
    value: float
    hi: float

    def __post_init__(self) -> None:
        if not (self.lo <= self.value <= self.hi):
            object.__setattr__(self, "lo", min(self.lo, self.value))
            object.__setattr__(self, "hi", max(self.hi, self.value))


@dataclass(frozen=True)
class GramPass:
    """What one pass over the row blocks of G = X^T X gives (:attr:`Quantities.gram_pass`).

    e19 : enclosure of max_{j != j'} |G_jj'| (None when m < 2).
    diag : (m,) upper ends of |G_jj|.
    gersh : (m,) ``gersh[k - 1]`` = max_j (upper |G_jj| + the k-1 largest other upper |G_jj'| of row j).
    pair2 : max over j != j' of lambda_max of the 2 x 2 Gram of columns j, j' (float value; -inf when m < 2).
    """

    e19: Enclosure | None
    diag: np.ndarray
    gersh: np.ndarray
    pair2: float


class Quantities:
    """Products of one draw with entrywise error bounds. X (n, m), W0 (S, n), z0 (S,). Above
    ``dense_m`` (:attr:`blocked`) no m x m array is formed (module docstring)."""

    def __init__(self, X: np.ndarray, W0: np.ndarray, z0: np.ndarray, dense_m: int = DENSE_M) -> None:
        self.X, self.W0, self.z0 = X, W0, z0
        self.n, self.m = X.shape
        self.S = W0.shape[0]
        self.dense_m = int(dense_m)
        self.noise: dict[str, float] = {}  # eq -> float slack of a claimed value whose real value is exact
        self.unavailable: dict[str, str] = {}  # eq -> why its statistic is not re-derived at this size

    @property
    def blocked(self) -> bool:
        """m > ``dense_m``: no m x m array is formed."""
        return self.m > self.dense_m

    def needs_dense(self, what: str) -> None:
        """Raise :class:`Unverifiable` when ``what`` (an eigenvalue of an m x m matrix) is asked for
        above ``dense_m``."""
        if self.blocked:
            raise Unverifiable(too_big(what, self.m, self.dense_m), FIX_DENSE)

    @cached_property
    def P(self) -> tuple[np.ndarray, np.ndarray]:
        """(W0 X, error bound), (S, m). Every entry whose sign the rounding bound leaves open is
        recomputed exactly (rational arithmetic: every float is an integer times a power of 2) and
        replaced by its correctly rounded value, so the activations A0 = 1(W0 X > 0) are the true ones
        (at most :data:`REFINE_MAX` such entries; beyond that a note says the signs stay open)."""
        C, E = en.product(self.W0, self.X)
        amb = np.argwhere(np.abs(C) <= E)
        self.open_signs = 0
        if len(amb) > REFINE_MAX:
            self.open_signs = len(amb)
            return C, E
        if len(amb):
            from fractions import Fraction

            C, E = C.copy(), E.copy()
            for nu, j in amb:
                v = sum(Fraction(float(a)) * Fraction(float(b)) for a, b in zip(self.W0[nu], self.X[:, j]))
                c = float(v)
                C[nu, j] = c
                err = abs(Fraction(c) - v)
                E[nu, j] = 0.0 if err == 0 else float(err) * (1 + 4 * en.U) + 5e-324
        return C, E

    @cached_property
    def G(self) -> tuple[np.ndarray, np.ndarray]:
        """(X^T X, error bound), (m, m); never formed above ``dense_m``."""
        self.needs_dense("X^T X")
        return en.product(self.X.T, self.X)

    @cached_property
    def gram_pass(self) -> GramPass:
        """One pass over row blocks of G = X^T X, (b, m) each (:class:`GramPass`); entry (j, j') of
        each block and its error bound are those of :func:`enclose.product`, as in :attr:`G`."""
        X, m = self.X, self.m
        b = max(1, min(m, BLOCK_ELEMS // m))
        d = np.einsum("ij,ij->j", X, X)
        diag = np.empty(m)
        gersh = np.full(m, -np.inf)
        lo19 = v19 = hi19 = pair2 = -np.inf
        for s in range(0, m, b):
            e = min(m, s + b)
            rows = np.arange(e - s)
            Gb, Eb = en.product(X[:, s:e].T, X)
            absG = np.abs(Gb)
            lo, hi = _ends(absG, Eb)
            A = absG + Eb
            diag[s:e] = A[rows, rows + s]
            for M in (absG, lo, hi, A):
                M[rows, rows + s] = 0.0 if M is A else -np.inf
            v19, lo19, hi19 = max(v19, float(absG.max())), max(lo19, float(lo.max())), max(hi19, float(hi.max()))
            A = -np.sort(-A, axis=1)
            csum = np.cumsum(A[:, :-1], axis=1)
            gersh[0] = max(gersh[0], float(diag[s:e].max()))
            if m > 1:
                gersh[1:] = np.maximum(gersh[1:], np.max(diag[s:e, None] + csum, axis=0))
            a, c = d[s:e, None], d[None, :]
            lam = (a + c) / 2 + np.sqrt(((a - c) / 2) ** 2 + Gb ** 2)
            lam[rows, rows + s] = -np.inf
            pair2 = max(pair2, float(lam.max()))
        e19 = Enclosure(lo19, v19, hi19) if m >= 2 else None
        return GramPass(e19, diag, gersh, pair2)

    @cached_property
    def A0(self) -> np.ndarray:
        """Activations 1(W0 X > 0) as float, (S, m) (as the float64 product decides them)."""
        return (self.P[0] > 0).astype(np.float64)

    @cached_property
    def F0(self) -> tuple[np.ndarray, np.ndarray]:
        """(relu(W0 X), error bound): relu is 1-Lipschitz, so the error of P carries over."""
        P, EP = self.P
        return np.maximum(P, 0.0), EP

    @cached_property
    def f0(self) -> tuple[np.ndarray, np.ndarray]:
        """(f0 = F0^T z0, error bound), (m,)."""
        F, EF = self.F0
        f, E = en.product(F.T, self.z0)
        E = E + (np.abs(self.z0) @ EF) * (1 + en.gamma(self.S + 2)) * (1 + 4 * en.U)
        return f, E

    def H(self, rows: np.ndarray | None = None, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(H, error bound) with H = (X^T X) o (A_rows^T diag(weights) A_rows), (m, m); the activation
        counts are exact integers in float64 when ``weights`` is None, so only X^T X contributes."""
        A = self.A0 if rows is None else self.A0[rows]
        G, EG = self.G
        if weights is None:
            C = A.T @ A  # exact: sums of 0/1 below 2^53
            EC = 0.0
        else:
            C, EC = en.product(A.T, A * weights[:, None])
            EC = EC + 2 * en.U * np.abs(C)  # the weights themselves (z0^2) are rounded
        H = G * C
        E = (EG * np.abs(C) + np.abs(G) * EC + EG * EC) * (1 + 4 * en.U) + en.U * np.abs(H) + en.TINY
        return H, E


def _ends(absM: np.ndarray, E: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Entrywise lower and upper ends of |M_true|: exact entries (E = 0) are their own ends, the
    others are widened by E and rounded outward."""
    exact = E == 0
    lo = np.where(exact, absM, np.maximum((absM - E) * (1 - 4 * en.U) - en.TINY, 0.0))
    hi = np.where(exact, absM, (absM + E) * (1 + 4 * en.U) + en.TINY)
    return lo, hi


def _max_abs(M: np.ndarray, E: np.ndarray) -> tuple[Enclosure, tuple[int, ...]]:
    """Enclosure of max |M_true| over entries, and where the float max is."""
    absM = np.abs(M)
    idx = np.unravel_index(int(np.argmax(absM)), M.shape)
    lo, hi = _ends(absM, E)
    return Enclosure(float(np.max(lo)), float(absM[idx]), float(np.max(hi))), tuple(int(i) for i in idx)


def _min_abs(M: np.ndarray, E: np.ndarray) -> tuple[Enclosure, tuple[int, ...]]:
    absM = np.abs(M)
    idx = np.unravel_index(int(np.argmin(absM)), M.shape)
    lo, hi = _ends(absM, E)
    return Enclosure(float(np.min(lo)), float(absM[idx]), float(np.min(hi))), tuple(int(i) for i in idx)


def row_norms(W: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lo, value, hi) of the Euclidean norm of every row of W (S, n)."""
    n = W.shape[1]
    sq = np.einsum("ij,ij->i", W, W)
    g = en.gamma(n + 3)
    v = np.sqrt(sq)
    return np.sqrt(np.maximum(sq * (1 - g), 0.0)) * (1 - 2 * en.U), v, np.sqrt(sq * (1 + g)) * (1 + 2 * en.U) + en.TINY


FIX_DENSE = "audit it where m x m matrices fit, with a larger limit: qrcheck.audit(..., dense_m=M)"


def too_big(what: str, m: int, dense_m: int) -> str:
    """The reason a claim needing ``what`` (m x m) is not re-derived at this m."""
    return f"{what}: an m x m matrix, not formed by the audit above m = {dense_m} (m = {m})"


def exact(q: Quantities) -> dict[str, Enclosure]:
    """Enclosures of the exact statistics (CONTRACT's table): (19), (22), (23), (25)-(29); (24)
    depends on zeta_0 (:func:`gamma0_size`). Above ``dense_m`` (19) comes from the blocked pass and
    (29) from the rank of G0 when m > S; otherwise (29) is left out, its reason in ``q.unavailable``."""
    out: dict[str, Enclosure] = {}
    if q.blocked:
        if q.m >= 2:
            out["19"] = q.gram_pass.e19
    else:
        G, EG = q.G
        off = G.copy()
        np.fill_diagonal(off, 0.0)
        Eoff = EG.copy()
        np.fill_diagonal(Eoff, 0.0)
        if q.m >= 2:
            out["19"] = _max_abs(off, Eoff)[0]
    lo, v, hi = row_norms(q.W0)
    out["22"] = Enclosure(float(np.min(lo)), float(np.min(v)), float(np.max(np.minimum(hi, np.min(hi)))))
    a = float(max(np.max(np.abs(q.W0)), np.max(np.abs(q.z0))))
    out["23"] = Enclosure(a, a, a)  # no rounding: entries of the given arrays
    P, EP = q.P
    out["25"] = _min_abs(P, EP)[0]
    out["26"] = _max_abs(P, EP)[0]
    f, Ef = q.f0
    out["27"] = _max_abs(f, Ef)[0]
    out["28"] = good_behaviour(q)
    F, EF = q.F0
    if q.blocked and q.m > q.S:
        # G0 = F0^T F0 (F0 the true relu(W0 X), S x m) is PSD of rank <= S < m: lambda_min = 0 exactly;
        # a claimed float value is within an eigensolver's rounding, 64 m u ||G0||, ||G0|| <= ||F0||_F^2
        out["29"] = Enclosure(0.0, 0.0, 0.0)
        fro = float(np.sum(np.square(np.abs(F) + EF))) * (1 + en.gamma(F.size + 2))
        q.noise["29"] = en.up(64 * q.m * en.U * fro)
    elif q.blocked:
        q.unavailable["29"] = too_big("lambda_min(G0), G0 = F0^T F0 with m <= S (its rank does not give it)", q.m, q.dense_m)
    else:
        G0, EG0 = en.product(F.T, F)
        EG0 = EG0 + (EF.T @ np.abs(F) + np.abs(F).T @ EF + EF.T @ EF) * (1 + en.gamma(q.S + 2)) * (1 + 4 * en.U)
        lo29, v29, hi29 = en.lambda_min(G0, EG0)
        out["29"] = Enclosure(lo29, v29, hi29)
    return out


def good_behaviour(q: Quantities) -> Enclosure:
    """(28): max over j and k of k / (S a_(k),j + 1); a_(k),j the k-th smallest |(W0 X)_nu,j| over nu.
    Order statistics are monotone in the entries, so the k-th smallest of the entrywise lower (upper)
    ends bounds a_(k),j from below (above)."""
    P, EP = q.P
    absP = np.abs(P)
    a = np.sort(absP, axis=0)
    a_lo = np.sort(np.maximum(absP - EP, 0.0), axis=0)
    a_hi = np.sort(absP + EP, axis=0)
    k = np.arange(1, q.S + 1, dtype=np.float64)[:, None]
    v = float(np.max(k / (q.S * a + 1.0)))
    hi = float(np.max(k / (q.S * a_lo * (1 - 2 * en.U) + 1.0)))
    lo = float(np.max(k / (q.S * a_hi * (1 + 2 * en.U) + 1.0)))
    return Enclosure(en.down(lo), v, en.up(hi))


def gamma0(z0: np.ndarray, zeta0: float) -> np.ndarray:
    """Gamma_0 = {nu : |z0_nu| >= zeta_0} (sorted indices; exact comparisons of the given floats)."""
    return np.flatnonzero(np.abs(z0) >= zeta0)


# ---- (20) --------------------------------------------------------------------------------------
def value_20(q: Quantities, J: np.ndarray) -> Enclosure:
    """||X^J|| / (1 + sqrt(k/n)), k = |J|: via lambda_max((X^J)^T X^J), above ``dense_m`` via the
    n x n lambda_max(X^J (X^J)^T) when k > n (the same nonzero eigenvalues)."""
    k = len(J)
    XJ = q.X[:, J]
    M, E = en.product(XJ, XJ.T) if q.blocked and k > q.n else en.product(XJ.T, XJ)
    lo, v, hi = en.sqrt_enclosure(*en.lambda_max(M, E))
    s = 1.0 + math.sqrt(k / q.n)
    return Enclosure(en.down(lo / (s * (1 + 2 * en.U))), v / s, en.up(hi / (s * (1 - 2 * en.U))))


def norm2_bounds(q: Quantities) -> np.ndarray:
    """b[k] (k = 0..m): a proven upper bound of max_{|J|=k} ||X^J||^2, the smallest of ||X||^2 (every
    X^J is a submatrix of X), Gershgorin's bound on (X^J)^T X^J (row i of it sums at most |G_ii| plus
    the k-1 largest other |G_ij| of row i), the sum of the k largest ||X^j||^2 (Frobenius) and, when
    there are at most :data:`ENUMERATE` subsets of size k, the maximum over all of them. Above
    ``dense_m`` the Gershgorin maxima come from :attr:`Quantities.gram_pass` and ||X||^2 from X X^T.
    Cached on ``q``."""
    if "_norm2" in q.__dict__:
        return q.__dict__["_norm2"]
    if q.blocked:
        gp = q.gram_pass
        diag, gersh = gp.diag, gp.gersh
        Xn2 = en.lambda_max(*en.product(q.X, q.X.T))[2]
    else:
        G, EG = q.G
        absG = np.abs(G) + EG
        diag = np.diag(absG).copy()
        offd = absG.copy()
        np.fill_diagonal(offd, 0.0)
        rows = -np.sort(-offd, axis=1)  # each row descending
        csum = np.concatenate([np.zeros((q.m, 1)), np.cumsum(rows, axis=1)], axis=1)
        gersh = np.max(diag[:, None] + csum[:, :q.m], axis=0)
        Xn2 = en.lambda_max(*q.G)[2]
    ccols = np.cumsum(-np.sort(-diag))
    slack = 1 + 4 * en.gamma(q.m + 2)
    out = np.zeros(q.m + 1)
    for k in range(1, q.m + 1):
        b2 = min(Xn2, float(gersh[k - 1]) * slack, float(ccols[k - 1]) * slack)
        every = enumerate_20(q, k)
        if every is not None:
            b2 = min(b2, every[1])
        out[k] = en.up(b2)
    q.__dict__["_norm2"] = out
    return out


def bound_20(q: Quantities, ks: list[int]) -> dict[int, float]:
    """k -> a proven upper bound of max_{|J|=k} ||X^J|| / (1 + sqrt(k/n)) (:func:`norm2_bounds`)."""
    b = norm2_bounds(q)
    return {k: en.up(math.sqrt(max(float(b[k]), 0.0)) * (1 + 2 * en.U) / ((1.0 + math.sqrt(k / q.n)) * (1 - 2 * en.U)))
            for k in ks}


# ---- (21) --------------------------------------------------------------------------------------
def value_21(q: Quantities, J: np.ndarray) -> Enclosure:
    """sigma_min((X^J)^T) = min over xi in R^n of ||(X^J)^T xi|| / ||xi||: exactly 0 when |J| < n
    (a kernel), else sqrt(lambda_min(X^J (X^J)^T))."""
    if len(J) < q.n:
        return Enclosure(0.0, 0.0, 0.0)
    XJ = q.X[:, J]
    lo, v, hi = en.sqrt_enclosure(*en.lambda_min(*en.product(XJ, XJ.T)))
    return Enclosure(lo, v, hi)


def direction_21(q: Quantities, J: np.ndarray, xi: np.ndarray) -> Enclosure:
    """||(X^J)^T xi|| / ||xi||: an upper bound of sigma_min((X^J)^T) when |J| >= n."""
    XJ = q.X[:, J]
    r, E = en.product(XJ.T, xi)
    num = float(np.linalg.norm(r))
    num_hi = en.up(float(np.linalg.norm(np.abs(r) + E)) * (1 + en.gamma(len(J) + 2)))
    num_lo = max(en.down(float(np.linalg.norm(np.maximum(np.abs(r) - E, 0.0))) * (1 - en.gamma(len(J) + 2))), 0.0)
    d = float(np.linalg.norm(xi))
    g = en.gamma(q.n + 2)
    return Enclosure(en.down(num_lo / (d * (1 + g))), num / d, en.up(num_hi / (d * (1 - g))))


def bound_21(q: Quantities, n_star: int) -> float:
    """A proven lower bound of min_{|J|=n*} sigma_min((X^J)^T): 0 when n* < n (a kernel); else
    X^J (X^J)^T = X X^T - X^K (X^K)^T with K the m - n* removed columns, so by Weyl
    lambda_min >= lambda_min(X X^T) - max_{|K|=m-n*} ||X^K||^2 (:func:`norm2_bounds`)."""
    if n_star < q.n:
        return 0.0
    M, E = en.product(q.X, q.X.T)
    lo = en.lambda_min(M, E)[0]
    drop = float(norm2_bounds(q)[q.m - n_star]) if n_star < q.m else 0.0
    b = en.down(lo - en.up(drop))
    return en.down(math.sqrt(b)) if b > 0 else 0.0


# ---- (30) --------------------------------------------------------------------------------------
def value_30(q: Quantities, keep: np.ndarray) -> Enclosure:
    """lambda_min((X^T X) o (A_K^T A_K)) over the neurons ``keep`` (:class:`Unverifiable` above
    ``dense_m``)."""
    q.needs_dense("(30)'s H_K = (X^T X) o (A_K^T A_K)")
    H, E = q.H(rows=keep)
    lo, v, hi = en.lambda_min(H, E)
    return Enclosure(lo, v, hi)


def weyl_30(q: Quantities, Gamma0: np.ndarray) -> tuple[float, np.ndarray]:
    """(lower end of lambda_min(H_Gamma0), upper ends of lambda_max(H_nu) for nu in Gamma_0, sorted
    descending): the ingredients of :func:`bound_30`."""
    lo = value_30(q, Gamma0).lo
    A = q.A0[Gamma0] > 0
    lmax = np.zeros(len(Gamma0))
    for i, a in enumerate(A):
        cols = np.flatnonzero(a)
        if cols.size:
            XJ = q.X[:, cols]
            lmax[i] = en.lambda_max(*en.product(XJ.T, XJ))[2]
    return lo, -np.sort(-lmax)


def bound_30(q: Quantities, Gamma0: np.ndarray, S_star: int, weyl: tuple[float, np.ndarray] | None = None) -> float:
    """A proven lower bound of min over S*-subsets R of Gamma_0 of lambda_min(H_{Gamma_0 \\ R}):
    H_{Gamma_0} minus a sum of S* of the PSD terms H_nu = (X^T X) o (a_nu a_nu^T), whose
    lambda_max is ||X_{:, a_nu}||^2; Weyl gives lambda_min(H_Gamma0) - (sum of the S* largest)."""
    lo, lmax = weyl if weyl is not None else weyl_30(q, Gamma0)
    if S_star <= 0:
        return lo
    drop = float(np.sum(lmax[:S_star])) * (1 + en.gamma(S_star + 2))
    return en.down(lo - en.up(drop))


def value_H0(q: Quantities) -> float:
    """lambda_min(H0), H0 = (X^T X) o (B0^T B0), B0 = diag(z0) A0 (float value)."""
    return enclosure_H0(q).value


LIMIT_KEYS = ("lambda_min_Hw", "lambda_min_Hz", "S_lambda_min_Hz", "E_zeta2_S_lambda_min_Hw", "concentration_ratio_G",
              "concentration_ratio_H")
"""Values read off the limit kernels H^w, H^z (diagnostics only: no status depends on them)."""
NULL_LIMIT = "null: the certificate says the limit kernels were not computed (limit_kernels); no claim"


def unclaimed_limit(d: Mapping[str, Any]) -> list[str]:
    """The :data:`LIMIT_KEYS` of ``d`` that are null while ``d["limit_kernels"]`` says why they were
    not computed: no claim is made, so nothing is re-derived (they are listed as not vouched)."""
    if not isinstance(d.get("limit_kernels"), str):
        return []
    return [k for k in LIMIT_KEYS if k in d and d[k] is None]


#: the most relative slack a claimed residual can buy a limit-kernel eigenvalue (:func:`limit_atol`)
LIMIT_REL_CAP = 1e-2


def limit_atol(d: Mapping[str, Any], key: str, exact: float, m: int) -> float:
    """Absolute tolerance for a claimed limit-kernel eigenvalue ``d[key]`` against the audit's own
    ``exact``: rounding (64 m u, the kernels' entries are <= 1/2) plus the value's stated accuracy,
    the claimed ``d[key + "_residual"]`` of an iterative value (some eigenvalue lies within it below
    the Rayleigh quotient), capped at :data:`LIMIT_REL_CAP` |exact| so that no claimed residual
    makes the check vacuous."""
    noise = 64 * m * 2.0 ** -53
    r = d.get(key + "_residual")
    if isinstance(r, (int, float)) and not isinstance(r, bool) and math.isfinite(r) and r > 0:
        return noise + min(float(r), LIMIT_REL_CAP * abs(exact))
    return noise


def limit_lambda_min(q: Quantities) -> tuple[float, float]:
    """(lambda_min(H^w(X)), lambda_min(H^z(X))) of the limit kernels (``thresholds.limit_kernels``),
    cached on ``q``."""
    if "_limit" not in q.__dict__:
        q.needs_dense("the limit kernels H^w(X), H^z(X)")
        import scipy.linalg

        from .thresholds import limit_kernels

        Hw, Hz = limit_kernels(q.X)
        q.__dict__["_limit"] = (float(scipy.linalg.eigvalsh(Hw, subset_by_index=[0, 0])[0]),
                                float(scipy.linalg.eigvalsh(Hz, subset_by_index=[0, 0])[0]))
    return q.__dict__["_limit"]


def enclosure_H0(q: Quantities) -> Enclosure:
    """Enclosure of lambda_min(H0), H0 = (X^T X) o (A0^T diag(z0^2) A0) (cached on ``q``). Above
    ``dense_m`` only by rank (:func:`rank_bound_H0`): [0, 0] when the bound is below m, with
    ``q.noise["H0"]`` the rounding level of a claimed float value; else :class:`Unverifiable`."""
    if "_H0" not in q.__dict__:
        if q.blocked:
            if rank_bound_H0(q) >= q.m:
                q.needs_dense("H0 = (X^T X) o (B0^T B0) (its rank may be m)")
            q.__dict__["_H0"] = Enclosure(0.0, 0.0, 0.0)
        else:
            H, E = q.H(weights=q.z0 ** 2)
            q.__dict__["_H0"] = Enclosure(*en.lambda_min(H, E))
    return q.__dict__["_H0"]


def rank_bound_H0(q: Quantities) -> int:
    """An upper bound of rank(H0): H0 = sum over nu with z0_nu != 0 of z0_nu^2 (X D_nu)^T (X D_nu),
    D_nu = diag(a_nu), each term of rank <= min(n, |a_nu|) (a_nu counted generously: every entry of
    W0 X not provably <= 0). Sets ``q.noise["H0"]`` = 64 m u trace(H0) (upper), the rounding level of
    an eigensolver's lambda_min (||H0|| <= trace(H0), H0 PSD)."""
    P, EP = q.P
    active = (P > 0) | ((np.abs(P) <= EP) & (EP > 0))
    live = q.z0 != 0
    rank = int(np.sum(np.minimum(q.n, np.count_nonzero(active[live], axis=1))))
    col2 = np.einsum("ij,ij->j", q.X, q.X) * (1 + en.gamma(q.n + 2))
    trace = float((q.z0 ** 2 * (1 + 2 * en.U)) @ (active * col2[None, :]).sum(axis=1)) * (1 + en.gamma(q.m + q.S + 2))
    q.noise["H0"] = en.up(64 * q.m * en.U * trace)
    return rank


def exact_zeros(q: Quantities) -> int | None:
    """How many entries of W0 X are exactly 0 in real arithmetic on the given floats (the entries
    :attr:`Quantities.P` recomputed exactly; the others are provably not 0); None when too many signs
    were left open to refine."""
    P, EP = q.P
    if q.open_signs:
        return None
    return int(np.count_nonzero((P == 0) & (EP == 0)))


def max_20(q: Quantities, k: int) -> float | None:
    """The float value max over every J with |J| = k of ||X^J|| / (1 + sqrt(k/n)), or None when there
    are too many subsets to enumerate here (k = 1 and k = 2 in closed form, k = m directly)."""
    s = 1.0 + math.sqrt(k / q.n)
    if k == 1:
        return float(np.max(np.linalg.norm(q.X, axis=0))) / s
    if k == 2 and q.blocked:
        return math.sqrt(max(q.gram_pass.pair2, 0.0)) / s
    if k == 2:
        G = q.X.T @ q.X
        d = np.diag(G)
        a, b = d[:, None], d[None, :]
        lam = (a + b) / 2 + np.sqrt(((a - b) / 2) ** 2 + G ** 2)
        np.fill_diagonal(lam, -np.inf)
        return float(np.sqrt(np.max(lam))) / s
    if k == q.m:
        return float(np.linalg.norm(q.X, 2)) / s
    every = enumerate_20(q, k)
    return None if every is None else math.sqrt(max(every[0], 0.0)) / s


def enumerate_20(q: Quantities, k: int) -> tuple[float, float] | None:
    """(float value, rigorous upper end) of max over every J with |J| = k of lambda_max((X^J)^T X^J),
    or None when there are more than :data:`ENUMERATE` subsets (or their eigenproblems cost more than
    :data:`ENUMERATE_FLOPS`). Cached per k on ``q``."""
    cache = q.__dict__.setdefault("_enum20", {})
    if k in cache:
        return cache[k]
    j = min(k, q.m - k)
    # C(m, j) >= C(2j, j) >= C(14, 7) = 3432 > ENUMERATE once j >= 7: the huge middle binomials are skipped
    c = math.comb(q.m, k) if j < 7 else ENUMERATE + 1
    out = None
    if c <= ENUMERATE and c * k ** 3 <= ENUMERATE_FLOPS:
        idx = np.asarray(list(itertools.combinations(range(q.m), k)), dtype=np.intp)
        if q.blocked:  # the k x k Grams of the subsets from X itself, bounded as enclose.product bounds them
            XJ = q.X[:, idx]  # (n, c, k)
            M = np.einsum("nci,ncj->cij", XJ, XJ)
            aXJ = np.abs(XJ)
            g = en.gamma(q.n + 2)
            E = (g * (1 + 4 * g)) * np.einsum("nci,ncj->cij", aXJ, aXJ) + q.n * en.TINY
        else:
            G, EG = q.G
            M = G[idx[:, :, None], idx[:, None, :]]
            E = EG[idx[:, :, None], idx[:, None, :]]
        v, hi = en.lambda_max_stack(M, E)
        out = (float(np.max(v)), float(np.max(hi)))
    cache[k] = out
    return out
