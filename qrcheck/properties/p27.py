"""(27) Right order of the output at initialisation: ||f0||_inf <= O~(S^{1/2}), f0 = relu(W0 X)^T z0."""

from __future__ import annotations

import math

import numpy as np

from . import Checker
from .. import probability
from ..results import Sense


def witness_value(W0: np.ndarray, X: np.ndarray, z0: np.ndarray, witness: dict) -> float:
    """|f0_j| = |relu(W0 X^j)^T z0| at the witness j."""
    return float(abs(np.maximum(W0 @ X[:, witness["j"]], 0.0) @ z0))


def relu_square_sum_sf(S: int, u: float) -> float:
    """P(V > u), V = sum of S i.i.d. relu(g)^2, g ~ N(0, 1): V is chi^2 with K ~ Bin(S, 1/2) degrees
    of freedom (K = 0: V = 0), so P(V > u) = sum_k Bin(S, 1/2)(k) P(chi^2_k > u), exactly."""
    k = np.arange(1, S + 1)
    return float(np.sum(probability.binom_pmf(k, S, 0.5) * probability.chi2_sf(u, k)))


def threshold_sharp(S: int, m: int, delta: float) -> float:
    """max|f0| <= t. f0_j = sum_nu (z0)_nu relu(P_{nu j}) and V_j = sum_nu relu(P_{nu j})^2 has the
    law of relu_square_sum_sf (P_{. j} i.i.d. N(0, 1)). Take u with m P(V > u) = delta/2; given W0,
    f0_j is sub-Gaussian with variance proxy V_j (Hoeffding for Rademacher z0 [Ver18, Thm 2.6.2],
    exact for Gaussian z0), so m 2 exp(-t^2 / (2u)) = delta/2 gives t = sqrt(2 u ln(4 m / delta))."""
    target = delta / 2.0 / m
    hi = float(S)
    while relu_square_sum_sf(S, hi) > target:
        hi *= 2.0
    u = probability.root(lambda v: math.log(max(relu_square_sum_sf(S, v), 1e-300)) - math.log(target),
                         0.0, hi, xtol=1e-9)
    return float(math.sqrt(2.0 * u * math.log(4.0 * m / delta)))


class OutputOrder(Checker):
    eq = "27"
    name = "output_order"
    statement = "||f0||_inf <= C L^p S^{1/2}"
    statistic = "max |f0|, f0 = relu(W0 X)^T z0"
    sense = Sense.LE
    g_formula = "S^1/2"

    def g(self, ctx):
        return ctx.S ** 0.5

    def tail_threshold(self, ctx, delta):
        return threshold_sharp(ctx.S, ctx.m, delta)

    def reach(self, ctx):
        # |f0_j| = |<F0^j, z0>| <= ||F0||_F ||z0||
        from ..enclosures import frobenius_upper
        q = ctx.q
        return (0.0, frobenius_upper(q.F0) * frobenius_upper(q.z0[None, :]) * (1.0 + 1e-12))

    def check(self, ctx):
        """Exact: f0 (m,) with its rigorous enclosure (relu is 1-Lipschitz, (E1)); witness j."""
        j = int(np.argmax(np.abs(ctx.q.f0)))
        enc = ctx.q.bounds.e27
        return self.result(ctx, enclosure=enc, method="exact: max |f0|; enclosure " + enc.method,
                           witness={"j": j})


CHECKER = OutputOrder()
