"""(23) Entries of theta_0 are small: ||W0||_inf, ||z0||_inf <= O~(1)."""

from __future__ import annotations

import numpy as np

from . import Checker
from .. import probability
from ..results import Sense


def witness_value(W0: np.ndarray, z0: np.ndarray, witness: dict) -> float:
    """|entry| of W0 (S, n) or z0 (S,) at the witness index."""
    a = W0 if witness["array"] == "W0" else z0
    return float(abs(a[tuple(witness["index"])]))


def threshold_sharp(n: int, S: int, delta: float) -> float:
    """max(max|W0|, max|z0|) <= t, 2 (S n + S) Phi-bar(t) = delta (union over the S n Gaussian
    entries of W0 and the S entries of z0; Rademacher entries have |z| = 1 < t)."""
    return probability.normal_isf(delta / (2.0 * (S * n + S)))


class EntriesSmall(Checker):
    eq = "23"
    name = "entries_small"
    statement = "max(||W0||_inf, ||z0||_inf) <= C L^p"
    statistic = "max(max |W0|, max |z0|)"
    sense = Sense.LE

    def tail_threshold(self, ctx, delta):
        return threshold_sharp(ctx.n, ctx.S, delta)

    def reach(self, ctx):
        # max |entry| <= max(||W0||_F, ||z0||): a threshold at or above that can never bind
        from ..enclosures import frobenius_upper
        q = ctx.q
        return (0.0, max(frobenius_upper(q.W0), frobenius_upper(q.z0[None, :])))

    def check(self, ctx):
        """Exact: W0 (S, n), z0 (S,); witness the array and index of the largest entry."""
        iw = np.unravel_index(int(np.argmax(np.abs(ctx.q.W0))), ctx.q.W0.shape)
        iz = int(np.argmax(np.abs(ctx.q.z0)))
        w, z = abs(ctx.q.W0[iw]), abs(ctx.q.z0[iz])
        witness = {"array": "W0", "index": [int(i) for i in iw]} if w >= z else {"array": "z0", "index": [iz]}
        return self.result(ctx, statistic=max(w, z), method="exact: entrywise max (no rounding)",
                           lower=max(w, z), upper=max(w, z),
                           witness=witness, details={"max_abs_W0": float(w), "max_abs_z0": float(z)})


CHECKER = EntriesSmall()
