"""(28) Good behaviour for any data instance:
for all j, R >= 0: #{nu : |(W0 X)_{nu j}| <= R} <= O~(S R + 1).

For fixed j the worst R for a count k is the k-th smallest a_(k),j of |(W0 X)_{nu j}|, so the
statistic max_{j, R} count / (S R + 1) equals max_{j, k} k / (S a_(k),j + 1): exact, by sorting
each column, O(S m log S).
"""

from __future__ import annotations

import math

import numpy as np

from . import Checker
from .. import probability
from ..results import Sense


def witness_value(W0: np.ndarray, X: np.ndarray, witness: dict) -> float:
    """k / (S R + 1) at the witness (j, k, R), after checking that #{nu : |(W0 X)_{nu j}| <= R} >= k
    (up to rounding: R is a float64 entry of W0 X, recomputed here as a matrix-vector product)."""
    col = np.abs(W0 @ X[:, witness["j"]])
    k, R = int(witness["k"]), float(witness["R"])
    if np.count_nonzero(col <= R * (1.0 + 1e-12) + 1e-300) < k:
        raise ValueError(f"(28) witness: fewer than k = {k} entries of column {witness['j']} are <= R")
    return k / (W0.shape[0] * R + 1.0)


def failure(S: int, m: int, tau: float) -> float:
    """Union bound on P(max_{j,k} k / (S a_(k),j + 1) > tau): for fixed j and k the event is
    a_(k),j < R_k = (k/tau - 1)/S, i.e. #{nu : |P_{nu j}| < R_k} >= k with the count
    Binomial(S, 2 Phi(R_k) - 1), exactly; k <= tau cannot exceed; summed over k and the m columns."""
    k = np.arange(int(math.floor(tau)) + 1, S + 1)
    if k.size == 0:
        return 0.0
    from scipy.special import erf

    R = (k / tau - 1.0) / S
    p = erf(R / math.sqrt(2.0))
    return float(m * np.sum(probability.binom_sf(k - 1, S, p)))


def threshold_sharp(S: int, m: int, delta: float) -> float:
    """Smallest tau with failure(S, m, tau) <= delta (bisection; failure decreases in tau)."""
    lo, hi = 1.0, float(S)
    if failure(S, m, lo) <= delta:
        return lo
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if failure(S, m, mid) <= delta:
            hi = mid
        else:
            lo = mid
    return hi


class GoodBehaviour(Checker):
    eq = "28"
    name = "good_behaviour"
    statement = "for all j, R: #{nu : |(W0 X)_{nu j}| <= R} <= C L^p (S R + 1)"
    statistic = "max over j and k of k / (S a_(k),j + 1)"
    sense = Sense.LE

    def reach(self, ctx):
        return (0.0, float(ctx.S))  # k / (S a + 1) <= k <= S

    def tail_threshold(self, ctx, delta):
        return threshold_sharp(ctx.S, ctx.m, delta)

    def check(self, ctx):
        """Exact over all j and R: sort each column of |P0| (S, m); witness (j, k, R)."""
        a = np.sort(np.abs(ctx.q.P0), axis=0)
        k = np.arange(1, ctx.S + 1, dtype=np.float64)[:, None]
        ratio = k / (ctx.S * a + 1.0)
        kk, j = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
        enc = ctx.q.bounds.e28(float(ratio[kk, j]))
        return self.result(ctx, enclosure=enc, method="exact: sorted columns of |W0 X|; enclosure " + enc.method,
                           witness={"j": int(j), "k": int(kk) + 1, "R": float(a[kk, j])})


CHECKER = GoodBehaviour()
