"""Tail-bound thresholds of the ``sharp`` profile (docs/sharp.md has the derivations).

Every function here takes the draw's :class:`~qrcheck.context.Context` and a failure probability
``delta`` and returns a threshold (or an existential parameter n*, S*) such that a draw sampled as in
the paper's Section 2.4 (X uniform unit columns, W0 i.i.d. N(0, 1), z0 Rademacher or N(0, 1)) fails
the property with probability at most ``delta``. Each bound is a union bound over an exact or
explicit tail; the comment of each function states it. Thresholds for (29) and (30) are conditional
on X (and on Gamma_0), which is why they may read data-dependent quantities off the context; the
conditional failure probability is <= delta for every X, hence so is the unconditional one.

Notation: n, S, m the sizes, delta the failure probability, Phi-bar the standard normal tail,
c_n = E||g|| = sqrt(2) Gamma((n+1)/2) / Gamma(n/2) for g ~ N(0, I_n).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import scipy.optimize
import scipy.stats
from scipy.special import gammaln

if TYPE_CHECKING:  # pragma: no cover
    from .context import Context

DEFAULT_DELTA = 1e-3


def chi_mean(n: int) -> float:
    """c_n = E||g||, g ~ N(0, I_n): sqrt(2) Gamma((n+1)/2) / Gamma(n/2)."""
    return math.sqrt(2.0) * math.exp(gammaln((n + 1) / 2.0) - gammaln(n / 2.0))


def ln_binom(m: int, k: int) -> float:
    """ln binom(m, k)."""
    return float(gammaln(m + 1) - gammaln(k + 1) - gammaln(m - k + 1))


def inner_product_tail(n: int, t: np.ndarray | float) -> np.ndarray | float:
    """P(|<x, y>| >= t) for x, y independent uniform on S^{n-1}, n >= 2: (1 + <x,y>)/2 is
    Beta((n-1)/2, (n-1)/2) exactly."""
    a = (n - 1) / 2.0
    return 2.0 * scipy.stats.beta.sf((1.0 + np.asarray(t)) / 2.0, a, a)


def slab_probability(n: int, r: np.ndarray | float) -> np.ndarray | float:
    """P(|<x, xi>| < r) for x uniform on S^{n-1} and a fixed unit xi (Beta law, as above)."""
    a = (n - 1) / 2.0
    r = np.asarray(r, dtype=np.float64)
    return scipy.stats.beta.cdf((1.0 + r) / 2.0, a, a) - scipy.stats.beta.cdf((1.0 - r) / 2.0, a, a)


# ---- (19) -----------------------------------------------------------------------------------------
def threshold_19(ctx: "Context", delta: float) -> float:
    """max_{j<j'} |<X^j, X^j'>| <= t with binom(m, 2) P(|<x, y>| >= t) = delta (exact Beta tail,
    union over pairs). 1 (vacuous) when n < 2 or m < 2."""
    n, m = ctx.n, ctx.m
    if n < 2 or m < 2:
        return 1.0
    a = (n - 1) / 2.0
    q = delta / (m * (m - 1) / 2.0) / 2.0
    return float(2.0 * scipy.stats.beta.isf(q, a, a) - 1.0)


# ---- (20) -----------------------------------------------------------------------------------------
def norm_tail_20(n: int, m: int, k: int, delta_k: float) -> float:
    """A bound b with P(max_{|J|=k} ||X^J|| > b) <= delta_k for X with m i.i.d. uniform unit columns.

    E||X^J|| <= E||G^J|| / c_n <= (sqrt(n) + sqrt(k)) / c_n (G = X diag(r), r = column norms,
    independent of X; Jensen; Gordon [Ver12, Thm 5.32]); X^J -> ||X^J|| is 1-Lipschitz and
    (S^{n-1})^k has Ricci curvature n - 2, so P(||X^J|| >= E + t) <= exp(-(n-2) t^2 / 2)
    [Ledoux 2001, Thm 2.7 with Bakry-Emery]; union over binom(m, k) subsets. Needs n >= 3.
    """
    t = math.sqrt(2.0 * (ln_binom(m, k) + math.log(1.0 / delta_k)) / (n - 2))
    return (math.sqrt(n) + math.sqrt(k)) / chi_mean(n) + t


def threshold_20(ctx: "Context", delta: float) -> float:
    """One threshold tau for max over the examined k of max_{|J|=k} ||X^J|| / (1 + sqrt(k/n)):
    tau = max_k min(b_k, sqrt(k)) / (1 + sqrt(k/n)), b_k = norm_tail_20 at delta / (number of k).
    A normalised value above tau at some k exceeds b_k there (it cannot exceed sqrt(k)), which has
    probability <= delta / #k. For n < 3 the bound is unavailable and tau is the reachable maximum."""
    from .search import k_grid

    n, m = ctx.n, ctx.m
    ks = k_grid(m, n)
    tau = 0.0
    for k in ks:
        scale = 1.0 + math.sqrt(k / n)
        b = norm_tail_20(n, m, k, delta / len(ks)) if n >= 3 else math.inf
        tau = max(tau, min(b, math.sqrt(k)) / scale)
    return tau


# ---- (21) -----------------------------------------------------------------------------------------
@lru_cache(maxsize=256)
def n_star_21(n: int, m: int, delta: float) -> int:
    """Smallest n* for which min_{|J|=n*} sigma_min((X^J)^T) >= n/m with probability >= 1 - delta,
    by the explicit form of the paper's Appendix B argument; m + 1 (empty family) when none <= m.

    With probability >= 1 - delta/2, ||X|| <= B = norm_tail_20(n, m, m, delta/2). Take an eps-net N of
    S^{n-1}, |N| <= (1 + 2/eps)^n [Ver18, Cor 4.2.13], and r > 0. For a fixed xi the count
    #{j : |<X^j, xi>| < r} is Binomial(m, p_r), p_r exact (Beta law); it is <= c - 1 at every net
    point with probability >= 1 - delta/2 when |N| P(Bin(m, p_r) >= c) <= delta/2. Then every J with
    |J| = n* has ||(X^J)^T xi|| >= r sqrt(n* - c + 1) at the net points and, for any unit xi',
    ||(X^J)^T xi'|| >= r sqrt(n* - c + 1) - eps B. So n* = c - 1 + ceil(((n/m + eps B) / r)^2),
    minimised over a grid of (eps, r).
    """
    if n < 3 or m < n:
        return m + 1
    B = norm_tail_20(n, m, m, delta / 2.0)
    tau = n / m
    ks = np.arange(m + 1)
    best = m + 1
    for eps in np.geomspace(1e-4, 0.5, 28):
        ln_net = n * math.log1p(2.0 / eps)
        log_q = math.log(delta / 2.0) - ln_net
        for r in np.geomspace(1e-3, 1.0, 40) / math.sqrt(n):
            p = float(slab_probability(n, r))
            if not 0.0 < p < 1.0:
                continue
            ok = np.flatnonzero(scipy.stats.binom.logsf(ks, m, p) <= log_q)  # sf(c-1) = P(count >= c)
            if ok.size == 0:
                continue
            c_minus_1 = int(ok[0])
            n_star = c_minus_1 + int(math.ceil(((tau + eps * B) / r) ** 2))
            best = min(best, n_star)
    return min(best, m + 1)


def n_star_sharp(ctx: "Context", delta: float) -> int:
    return n_star_21(ctx.n, ctx.m, float(delta))


# ---- (22), (23), (26) ------------------------------------------------------------------------------
def threshold_22(ctx: "Context", delta: float) -> float:
    """min_nu ||(W0)_nu|| >= sqrt(q), q the delta/S quantile of chi^2_n (exact; union over rows)."""
    return float(math.sqrt(scipy.stats.chi2.ppf(delta / ctx.S, ctx.n)))


def threshold_23(ctx: "Context", delta: float) -> float:
    """max(max|W0|, max|z0|) <= t, 2 (S n + S) Phi-bar(t) = delta (union over the S n Gaussian
    entries of W0 and the S entries of z0; Rademacher entries have |z| = 1 < t)."""
    return float(scipy.stats.norm.isf(delta / (2.0 * (ctx.S * ctx.n + ctx.S))))


def threshold_26(ctx: "Context", delta: float) -> float:
    """max|W0 X| <= t, 2 S m Phi-bar(t) = delta: each (W0 X)_{nu j} = <(W0)_nu, X^j> is exactly
    N(0, 1) for a unit X^j; union over the S m entries."""
    return float(scipy.stats.norm.isf(delta / (2.0 * ctx.S * ctx.m)))


# ---- (27) -----------------------------------------------------------------------------------------
def relu_square_sum_sf(S: int, u: float) -> float:
    """P(V > u), V = sum of S i.i.d. relu(g)^2, g ~ N(0, 1): V is chi^2 with K ~ Bin(S, 1/2) degrees
    of freedom (K = 0: V = 0), so P(V > u) = sum_k Bin(S, 1/2)(k) P(chi^2_k > u), exactly."""
    k = np.arange(1, S + 1)
    return float(np.sum(scipy.stats.binom.pmf(k, S, 0.5) * scipy.stats.chi2.sf(u, k)))


def threshold_27(ctx: "Context", delta: float) -> float:
    """max|f0| <= t. f0_j = sum_nu (z0)_nu relu(P_{nu j}) and V_j = sum_nu relu(P_{nu j})^2 has the
    law of relu_square_sum_sf (P_{. j} i.i.d. N(0, 1)). Take u with m P(V > u) = delta/2; given W0,
    f0_j is sub-Gaussian with variance proxy V_j (Hoeffding for Rademacher z0 [Ver18, Thm 2.6.2],
    exact for Gaussian z0), so m 2 exp(-t^2 / (2u)) = delta/2 gives t = sqrt(2 u ln(4 m / delta))."""
    S, m = ctx.S, ctx.m
    target = delta / 2.0 / m
    hi = float(S)
    while relu_square_sum_sf(S, hi) > target:
        hi *= 2.0
    u = scipy.optimize.brentq(lambda v: math.log(max(relu_square_sum_sf(S, v), 1e-300)) - math.log(target),
                              0.0, hi, xtol=1e-9)
    return float(math.sqrt(2.0 * u * math.log(4.0 * m / delta)))


# ---- (28) -----------------------------------------------------------------------------------------
def failure_28(S: int, m: int, tau: float) -> float:
    """Union bound on P(max_{j,k} k / (S a_(k),j + 1) > tau): for fixed j and k the event is
    a_(k),j < R_k = (k/tau - 1)/S, i.e. #{nu : |P_{nu j}| < R_k} >= k with the count
    Binomial(S, 2 Phi(R_k) - 1), exactly; k <= tau cannot exceed; summed over k and the m columns."""
    k = np.arange(int(math.floor(tau)) + 1, S + 1)
    if k.size == 0:
        return 0.0
    R = (k / tau - 1.0) / S
    p = scipy.special.erf(R / math.sqrt(2.0))
    return float(m * np.sum(scipy.stats.binom.sf(k - 1, S, p)))


def threshold_28(ctx: "Context", delta: float) -> float:
    """Smallest tau with failure_28(S, m, tau) <= delta (bisection; failure_28 decreases in tau)."""
    S, m = ctx.S, ctx.m
    lo, hi = 1.0, float(S)
    if failure_28(S, m, lo) <= delta:
        return lo
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if failure_28(S, m, mid) <= delta:
            hi = mid
        else:
            lo = mid
    return hi


# ---- (29), (30): matrix Chernoff --------------------------------------------------------------
def chernoff_lower(mu: float, R: float, d: int, delta: float) -> float:
    """(1 - eps) mu with d [e^-eps / (1 - eps)^(1 - eps)]^(mu / R) = delta: the matrix Chernoff lower
    tail [Tro12, Thm 1.1] for a sum of independent PSD d x d matrices with lambda_max <= R and
    lambda_min(sum of means) >= mu. 0 when even eps -> 1 cannot reach delta (mu / R < ln(d/delta))."""
    if mu <= 0 or R <= 0:
        return 0.0
    need = math.log(d / delta) * R / mu  # h(eps) = eps + (1 - eps) ln(1 - eps) must reach this
    if need >= 1.0:
        return 0.0
    h = lambda e: e + (1.0 - e) * math.log1p(-e) - need  # noqa: E731
    eps = scipy.optimize.brentq(h, 0.0, 1.0 - 1e-15, xtol=1e-14)
    return (1.0 - eps) * mu


def threshold_29(ctx: "Context", delta: float) -> float:
    """lambda_min(G0) >= max over r of chernoff_lower(mu(r), ||X||^2 r, m, delta), conditional on X.

    G0 >= sum_nu Y_nu with Y_nu = F_nu F_nu^T 1(||(W0)_nu||^2 <= r) (dropped terms are PSD);
    lambda_max(Y_nu) <= ||X||^2 r; E Y >= H^z(X) - ||X||^2 E[||w||^2 1(||w||^2 > r)] I and
    E[||w||^2 1(||w||^2 > r)] = n P(chi^2_{n+2} > r), so mu(r) = S (lambda_min(H^z) - ||X||^2 n
    P(chi^2_{n+2} > r)). r ranges over chi^2_n quantiles."""
    n, S, m = ctx.n, ctx.S, ctx.m
    X2 = ctx.X_norm ** 2
    best = 0.0
    for q in np.geomspace(1e-12, 0.5, 60):
        r = float(scipy.stats.chi2.isf(q, n))
        mu = S * (ctx.lambda_min_Hz - X2 * n * scipy.stats.chi2.sf(r, n + 2))
        best = max(best, chernoff_lower(mu, X2 * r, m, delta))
    return best


def chernoff_30(ctx: "Context", delta: float) -> float:
    """lambda_min(H_Gamma0) >= chernoff_lower(|Gamma_0| lambda_min(H^w(X)), ||X||^2, m, delta) with
    probability >= 1 - delta, conditional on X and Gamma_0 (which depends on z0 only): H_Gamma0 is a
    sum of |Gamma_0| independent (X^T X) o (a a^T), a = 1(X^T w > 0), with mean H^w(X) and
    lambda_max = ||X^{supp a}||^2 <= ||X||^2."""
    return chernoff_lower(ctx.Gamma0.size * ctx.lambda_min_Hw, ctx.X_norm ** 2, ctx.m, delta)


def threshold_30(ctx: "Context", delta: float) -> float:
    """Half the Chernoff bound: removing S* = floor(bound / (2 ||X||^2)) neurons costs at most
    S* ||X||^2 <= bound / 2 (Weyl, each H_nu <= ||X||^2 I), so the minimum over removals stays
    >= bound / 2 whenever lambda_min(H_Gamma0) >= bound."""
    return chernoff_30(ctx, delta) / 2.0


def S_star_sharp(ctx: "Context", delta: float) -> int:
    """S* = floor(chernoff_30 / (2 ||X||^2)): the removals threshold_30 is proved for."""
    X2 = ctx.X_norm ** 2
    return int(math.floor(chernoff_30(ctx, delta) / (2.0 * X2))) if X2 > 0 else 0


# ---- (24) -----------------------------------------------------------------------------------------
def zeta0_failure(S: int, c: float, fraction: float = 0.5) -> float:
    """P(zeta_0 < c) for Gaussian z0: zeta_0 (the ceil(fraction S)-th largest |z0|) is below c iff
    fewer than ceil(fraction S) of the |z0_nu| are >= c, a Binomial(S, 2 Phi-bar(c)) lower tail.
    For Rademacher z0, zeta_0 = 1 always."""
    k = max(1, int(math.ceil(fraction * S)))
    return float(scipy.stats.binom.cdf(k - 1, S, 2.0 * scipy.stats.norm.sf(c)))
