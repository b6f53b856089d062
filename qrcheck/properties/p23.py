"""(23) Entries of theta_0 are small: ||W0||_inf, ||z0||_inf <= O~(1)."""

from __future__ import annotations

import numpy as np

from . import Checker
from ..results import Sense


class EntriesSmall(Checker):
    eq = "23"
    name = "entries_small"
    statement = "max(||W0||_inf, ||z0||_inf) <= C L^p"
    statistic = "max(max |W0|, max |z0|)"
    sense = Sense.LE

    def check(self, ctx):
        """Exact: W0 (S, n), z0 (S,); witness the array and index of the largest entry."""
        iw = np.unravel_index(int(np.argmax(np.abs(ctx.W0))), ctx.W0.shape)
        iz = int(np.argmax(np.abs(ctx.z0)))
        w, z = abs(ctx.W0[iw]), abs(ctx.z0[iz])
        witness = {"array": "W0", "index": [int(i) for i in iw]} if w >= z else {"array": "z0", "index": [iz]}
        return self.result(ctx, statistic=max(w, z), method="exact: entrywise max",
                           witness=witness, details={"max_abs_W0": float(w), "max_abs_z0": float(z)})


CHECKER = EntriesSmall()
