"""(26) Data is almost orthogonal to initialisation: ||W0 X||_inf <= O~(1)."""

from __future__ import annotations

import numpy as np

from . import Checker
from ..results import Sense


class DataOrthogonalToInit(Checker):
    eq = "26"
    name = "data_orthogonal_to_init"
    statement = "||W0 X||_inf <= C L^p"
    statistic = "max |W0 X|"
    sense = Sense.LE

    def check(self, ctx):
        """Exact: P0 = W0 X (S, m); witness (nu, j)."""
        a = np.abs(ctx.P0)
        nu, j = np.unravel_index(int(np.argmax(a)), a.shape)
        return self.result(ctx, statistic=a[nu, j], method="exact: max |W0 X|",
                           witness={"nu": int(nu), "j": int(j)})


CHECKER = DataOrthogonalToInit()
