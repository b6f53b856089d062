"""(27) Right order of the output at initialisation: ||f0||_inf <= O~(S^{1/2}), f0 = relu(W0 X)^T z0."""

from __future__ import annotations

import numpy as np

from . import Checker
from ..results import Sense


class OutputOrder(Checker):
    eq = "27"
    name = "output_order"
    statement = "||f0||_inf <= C L^p S^{1/2}"
    statistic = "max |f0|, f0 = relu(W0 X)^T z0"
    sense = Sense.LE
    g_formula = "S^1/2"

    def g(self, ctx):
        return ctx.S ** 0.5

    def check(self, ctx):
        """Exact: f0 (m,); witness j."""
        j = int(np.argmax(np.abs(ctx.f0)))
        return self.result(ctx, statistic=abs(ctx.f0[j]), method="exact: max |f0|", witness={"j": j})


CHECKER = OutputOrder()
