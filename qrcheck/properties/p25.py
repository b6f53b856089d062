"""(25) Regularity: theta_0 is regular, i.e. W0 X has no zero entry."""

from __future__ import annotations

import numpy as np

from . import Checker
from ..results import Sense


def witness_value(W0: np.ndarray, X: np.ndarray, witness: dict) -> float:
    """|(W0 X)_{nu j}| at the witness (nu, j) (the statistic of (25) is the smallest)."""
    return float(abs(W0[witness["nu"]] @ X[:, witness["j"]]))


class Regularity(Checker):
    eq = "25"
    name = "regularity"
    statement = "min_{nu,j} |(W0 X)_{nu j}| > 0"
    statistic = "min over nu, j of |(W0 X)_{nu j}|"
    sense = Sense.GT

    def check(self, ctx):
        """Exact (in float64): P0 = W0 X (S, m); witness (nu, j). Threshold 0, no constants."""
        a = np.abs(ctx.q.P0)
        nu, j = np.unravel_index(int(np.argmin(a)), a.shape)
        return self.result(ctx, statistic=a[nu, j], method="exact: min |W0 X| in float64",
                           witness={"nu": int(nu), "j": int(j)}, threshold=0.0,
                           details={"zeros": int(np.count_nonzero(a == 0))})


CHECKER = Regularity()
