"""(22) Rows of W0 are large: min_nu ||(W0)_nu|| >= Omega~(n^{1/2}); the proof gives ||(W0)_nu||^2 >= n/2."""

from __future__ import annotations

import math

import numpy as np

from . import Checker
from .. import probability
from ..results import Sense


def witness_value(W0: np.ndarray, witness: dict) -> float:
    """||(W0)_nu|| for the witness row nu, W0 (S, n)."""
    return float(np.linalg.norm(W0[witness["nu"]]))


def threshold_sharp(n: int, S: int, delta: float) -> float:
    """min_nu ||(W0)_nu|| >= sqrt(q), q the delta/S quantile of chi^2_n (exact; union over rows)."""
    return float(math.sqrt(probability.chi2_ppf(delta / S, n)))


class RowsLarge(Checker):
    eq = "22"
    name = "rows_of_W0_large"
    statement = "min_nu ||(W0)_nu|| >= C L^p n^{1/2}"
    statistic = "min over nu of ||(W0)_nu||"
    sense = Sense.GE
    g_formula = "n^1/2"

    def g(self, ctx):
        return ctx.n ** 0.5

    def tail_threshold(self, ctx, delta):
        return threshold_sharp(ctx.n, ctx.S, delta)

    def reach(self, ctx):
        # ||(W0)_nu|| >= |<(W0)_nu, X^j>| / ||X^j|| >= min |W0 X| / max_j ||X^j|| (Cauchy-Schwarz):
        # a threshold at or below that can never bind (e.g. C = 1e-300)
        b = ctx.q.bounds
        cmax = float(np.sqrt(np.max(b.column_sq[2]))) if ctx.m else math.inf
        lo = b.e25.lower / cmax if cmax > 0 and math.isfinite(cmax) else 0.0
        return (max(lo * (1.0 - 1e-12), 0.0), math.inf)

    def check(self, ctx):
        """Exact: row norms of W0 (S, n) with their rigorous enclosure (sums of squares, (E1));
        witness the row nu."""
        enc = ctx.q.bounds.e22
        nu = int(np.argmin(ctx.q.bounds.row_norms[0]))
        return self.result(ctx, enclosure=enc, method="exact: row norms of W0; enclosure " + enc.method,
                           witness={"nu": nu})


CHECKER = RowsLarge()
