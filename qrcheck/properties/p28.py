"""(28) Good behaviour for any data instance:
for all j, R >= 0: #{nu : |(W0 X)_{nu j}| <= R} <= O~(S R + 1).

For fixed j the worst R for a count k is the k-th smallest a_(k),j of |(W0 X)_{nu j}|, so the
statistic max_{j, R} count / (S R + 1) equals max_{j, k} k / (S a_(k),j + 1): exact, by sorting
each column, O(S m log S).
"""

from __future__ import annotations

import numpy as np

from . import Checker
from ..results import Sense


class GoodBehaviour(Checker):
    eq = "28"
    name = "good_behaviour"
    statement = "for all j, R: #{nu : |(W0 X)_{nu j}| <= R} <= C L^p (S R + 1)"
    statistic = "max over j and k of k / (S a_(k),j + 1)"
    sense = Sense.LE

    def reach(self, ctx):
        return (0.0, float(ctx.S))  # k / (S a + 1) <= k <= S

    def check(self, ctx):
        """Exact over all j and R: sort each column of |P0| (S, m); witness (j, k, R)."""
        a = np.sort(np.abs(ctx.P0), axis=0)
        k = np.arange(1, ctx.S + 1, dtype=np.float64)[:, None]
        ratio = k / (ctx.S * a + 1.0)
        kk, j = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
        return self.result(ctx, statistic=ratio[kk, j], method="exact: sorted columns of |W0 X|",
                           witness={"j": int(j), "k": int(kk) + 1, "R": float(a[kk, j])})


CHECKER = GoodBehaviour()
