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

    def check(self, ctx):
        """Exact: row norms of W0 (S, n); witness the row nu."""
        norms = np.linalg.norm(ctx.q.W0, axis=1)
        nu = int(np.argmin(norms))
        return self.result(ctx, statistic=norms[nu], method="exact: row norms of W0",
                           witness={"nu": nu})


CHECKER = RowsLarge()
