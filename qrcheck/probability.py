"""Shared probability tools of the tail-bound (``sharp``) rules: exact laws and explicit tails.

Every function is a pure function of sizes and a probability; scipy.stats / scipy.optimize are
imported inside the functions, so importing this module costs nothing (``qrcheck --help`` and a
usage error never load them). The rules that use these tools live with their equation in
``qrcheck/properties/pNN.py``; docs/sharp.md has the derivations.

Notation: n the dimension, Phi-bar the standard normal tail, c_n = E||g|| = sqrt(2)
Gamma((n+1)/2) / Gamma(n/2) for g ~ N(0, I_n).
"""

from __future__ import annotations

import math

import numpy as np

DEFAULT_DELTA = 1e-3


def chi_mean(n: int) -> float:
    """c_n = E||g||, g ~ N(0, I_n): sqrt(2) Gamma((n+1)/2) / Gamma(n/2)."""
    from scipy.special import gammaln

    return math.sqrt(2.0) * math.exp(gammaln((n + 1) / 2.0) - gammaln(n / 2.0))


def ln_binom(m: int, k: int) -> float:
    """ln binom(m, k)."""
    from scipy.special import gammaln

    return float(gammaln(m + 1) - gammaln(k + 1) - gammaln(m - k + 1))


def inner_product_tail(n: int, t: np.ndarray | float) -> np.ndarray | float:
    """P(|<x, y>| >= t) for x, y independent uniform on S^{n-1}, n >= 2: (1 + <x,y>)/2 is
    Beta((n-1)/2, (n-1)/2) exactly."""
    import scipy.stats

    a = (n - 1) / 2.0
    return 2.0 * scipy.stats.beta.sf((1.0 + np.asarray(t)) / 2.0, a, a)


def inner_product_isf(n: int, q: float) -> float:
    """The t with P(<x, y> >= t) = q for x, y independent uniform on S^{n-1} (Beta law above)."""
    import scipy.stats

    a = (n - 1) / 2.0
    return float(2.0 * scipy.stats.beta.isf(q, a, a) - 1.0)


def slab_probability(n: int, r: np.ndarray | float) -> np.ndarray | float:
    """P(|<x, xi>| < r) for x uniform on S^{n-1} and a fixed unit xi (Beta law, as above)."""
    import scipy.stats

    a = (n - 1) / 2.0
    r = np.asarray(r, dtype=np.float64)
    return scipy.stats.beta.cdf((1.0 + r) / 2.0, a, a) - scipy.stats.beta.cdf((1.0 - r) / 2.0, a, a)


def normal_isf(q: float) -> float:
    """t with Phi-bar(t) = q."""
    import scipy.stats

    return float(scipy.stats.norm.isf(q))


def normal_sf(t: float) -> float:
    """Phi-bar(t)."""
    import scipy.stats

    return float(scipy.stats.norm.sf(t))


def chi2_ppf(q: float, k: int) -> float:
    """The q quantile of chi^2_k."""
    import scipy.stats

    return float(scipy.stats.chi2.ppf(q, k))


def chi2_isf(q: float, k: int) -> float:
    """u with P(chi^2_k > u) = q."""
    import scipy.stats

    return float(scipy.stats.chi2.isf(q, k))


def chi2_sf(u: float, k) -> np.ndarray | float:
    """P(chi^2_k > u) (k may be an array)."""
    import scipy.stats

    return scipy.stats.chi2.sf(u, k)


def binom_sf(k, N: int, p) -> np.ndarray:
    """P(Bin(N, p) > k), elementwise."""
    import scipy.stats

    return scipy.stats.binom.sf(k, N, p)


def binom_logsf(k, N: int, p) -> np.ndarray:
    """ln P(Bin(N, p) > k), elementwise."""
    import scipy.stats

    return scipy.stats.binom.logsf(k, N, p)


def binom_cdf(k, N: int, p) -> np.ndarray | float:
    """P(Bin(N, p) <= k)."""
    import scipy.stats

    return scipy.stats.binom.cdf(k, N, p)


def binom_pmf(k, N: int, p) -> np.ndarray:
    """P(Bin(N, p) = k), elementwise."""
    import scipy.stats

    return scipy.stats.binom.pmf(k, N, p)


def root(f, lo: float, hi: float, xtol: float) -> float:
    """A root of f in [lo, hi] (Brent's method; f(lo), f(hi) of opposite signs)."""
    import scipy.optimize

    return float(scipy.optimize.brentq(f, lo, hi, xtol=xtol))


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
    eps = root(h, 0.0, 1.0 - 1e-15, xtol=1e-14)
    return (1.0 - eps) * mu
