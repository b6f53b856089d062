"""(19) Almost orthogonality: max_{j != j'} |<X^j, X^j'>| <= O~(n^{-1/2}).

The paper prints n^{1/2}; its proof (Appendix B) gives |<x, y>| <= L n^{-1/2} and
|x|^2, |y|^2 >= 1/2, hence the bound 2 L n^{-1/2} (docs/errata.md).
"""

from __future__ import annotations

import numpy as np

from . import Checker
from .. import probability
from ..results import Sense


def witness_value(X: np.ndarray, witness: dict) -> float:
    """|<X^j, X^j'>| for the witness pair (j, j'), X (n, m)."""
    j, jp = witness["pair"]
    return float(abs(X[:, j] @ X[:, jp]))


def threshold_sharp(n: int, m: int, delta: float) -> float:
    """max_{j<j'} |<X^j, X^j'>| <= t with binom(m, 2) P(|<x, y>| >= t) = delta (exact Beta tail,
    union over pairs). 1 (vacuous) when n < 2 or m < 2."""
    if n < 2 or m < 2:
        return 1.0
    return probability.inner_product_isf(n, delta / (m * (m - 1) / 2.0) / 2.0)


class AlmostOrthogonality(Checker):
    eq = "19"
    name = "almost_orthogonality"
    statement = "max_{j != j'} |<X^j, X^j'>| <= C L^p n^{-1/2}"
    statistic = "max over j != j' of |<X^j, X^j'>|"
    sense = Sense.LE
    g_formula = "n^-1/2"
    reachable = (0.0, 1.0)  # unit columns

    def g(self, ctx):
        return ctx.n ** -0.5

    def tail_threshold(self, ctx, delta):
        return threshold_sharp(ctx.n, ctx.m, delta)

    def check(self, ctx):
        """Exact: the largest off-diagonal |X^T X| entry, X (n, m), with its rigorous enclosure
        (``enclosures.max_offdiag_abs``); witness the pair (j, j'). X^T X is read by row blocks
        (``Quantities.offdiag_abs_max``), so nothing m x m is formed above the dense limit."""
        if ctx.m < 2:
            return self.result(ctx, statistic=None, method="exact", details={"reason": "m < 2: no pairs"})
        _, j, jp = ctx.q.offdiag_abs_max
        j, jp = sorted((j, jp))
        enc = ctx.q.bounds.e19
        return self.result(ctx, enclosure=enc, witness={"pair": [j, jp]},
                           method="exact: max |off-diagonal of X^T X|; enclosure " + enc.method)


CHECKER = AlmostOrthogonality()
