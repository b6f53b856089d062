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
        """Exact: P0 = W0 X (S, m) with its rigorous enclosure; entries whose sign the rounding
        bound leaves open are recomputed in rational arithmetic (``enclosures.refined_product``), so
        an exact zero is ``violated`` and a true non-zero that GEMM cancels is not. Witness (nu, j).
        Threshold 0, no constants."""
        q = ctx.q
        a = np.abs(q.P0)
        nu, j = np.unravel_index(int(np.argmin(a)), a.shape)
        enc = q.bounds.e25
        rp = q.P0_product
        return self.result(ctx, enclosure=enc, method="exact: min |W0 X|; enclosure " + enc.method,
                           witness={"nu": int(nu), "j": int(j)}, threshold=0.0,
                           details={"zeros": int(np.count_nonzero(a == 0)),
                                    "recomputed_exactly": int(len(rp.refined)),
                                    "exact_zeros": int(sum(1 for e in rp.exact if e == 0)),
                                    "open_signs_left": not rp.complete})


CHECKER = Regularity()
