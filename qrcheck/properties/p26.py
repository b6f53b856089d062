"""(26) Data is almost orthogonal to initialisation: ||W0 X||_inf <= O~(1)."""

from __future__ import annotations

import numpy as np

from . import Checker
from .. import probability
from ..results import Sense


def witness_value(W0: np.ndarray, X: np.ndarray, witness: dict) -> float:
    """|(W0 X)_{nu j}| = |<(W0)_nu, X^j>| at the witness (nu, j)."""
    return float(abs(W0[witness["nu"]] @ X[:, witness["j"]]))


def threshold_sharp(S: int, m: int, delta: float) -> float:
    """max|W0 X| <= t, 2 S m Phi-bar(t) = delta: each (W0 X)_{nu j} = <(W0)_nu, X^j> is exactly
    N(0, 1) for a unit X^j; union over the S m entries."""
    return probability.normal_isf(delta / (2.0 * S * m))


class DataOrthogonalToInit(Checker):
    eq = "26"
    name = "data_orthogonal_to_init"
    statement = "||W0 X||_inf <= C L^p"
    statistic = "max |W0 X|"
    sense = Sense.LE

    def tail_threshold(self, ctx, delta):
        return threshold_sharp(ctx.S, ctx.m, delta)

    def reach(self, ctx):
        # |(W0 X)_{nu j}| <= ||(W0)_nu|| ||X^j|| <= ||W0||_F max_j ||X^j||
        from ..enclosures import frobenius_upper
        b = ctx.q.bounds
        cmax = float(np.sqrt(np.max(b.column_sq[2]))) if ctx.m else 0.0
        return (0.0, frobenius_upper(ctx.q.W0) * cmax * (1.0 + 1e-12))

    def check(self, ctx):
        """Exact: P0 = W0 X (S, m) with its rigorous enclosure; witness (nu, j)."""
        a = np.abs(ctx.q.P0)
        nu, j = np.unravel_index(int(np.argmax(a)), a.shape)
        enc = ctx.q.bounds.e26
        return self.result(ctx, enclosure=enc, method="exact: max |W0 X|; enclosure " + enc.method,
                           witness={"nu": int(nu), "j": int(j)})


CHECKER = DataOrthogonalToInit()
