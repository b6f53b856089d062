"""(24) z0 has many large entries: exists zeta_0 >= Omega~(1) with |Gamma_0| >= Omega~(S).

zeta_0 is chosen as the largest value keeping |Gamma_0| >= gamma0_fraction * S (default 1/2; for
Rademacher z0 that is zeta_0 = 1 and Gamma_0 = all neurons). Gamma_0 is handed to (30). The check
fails when that zeta_0 is below the profile's Omega~(1) floor (C L^p, default 1/L) or |Gamma_0|
is below C L^p S.
"""

from __future__ import annotations

import math

import numpy as np

from . import Checker, CheckContext
from .. import probability
from ..results import Sense, Status


def zeta0_of(z0: np.ndarray, fraction: float) -> float:
    """(24): the largest zeta_0 keeping |Gamma_0| >= fraction * S, z0 (S,)."""
    k = max(1, int(math.ceil(fraction * z0.shape[0])))
    return float(np.sort(np.abs(z0))[::-1][k - 1])


def zeta0(ctx: CheckContext) -> float:
    """zeta_0 of this draw under the profile's ``gamma0_fraction`` (cached on the context)."""
    return ctx.memo("24.zeta0", lambda: zeta0_of(ctx.q.z0, ctx.profile.gamma0_fraction))


def Gamma0(ctx: CheckContext) -> np.ndarray:
    """(24): indices nu with |z0_nu| >= zeta_0, sorted (cached on the context; (30) uses them)."""
    return ctx.memo("24.Gamma0", lambda: np.flatnonzero(np.abs(ctx.q.z0) >= zeta0(ctx)))


def zeta0_failure(S: int, c: float, fraction: float = 0.5) -> float:
    """P(zeta_0 < c) for Gaussian z0: zeta_0 (the ceil(fraction S)-th largest |z0|) is below c iff
    fewer than ceil(fraction S) of the |z0_nu| are >= c, a Binomial(S, 2 Phi-bar(c)) lower tail.
    For Rademacher z0, zeta_0 = 1 always (docs/sharp.md: the ``sharp`` floor zeta0_min)."""
    k = max(1, int(math.ceil(fraction * S)))
    return float(probability.binom_cdf(k - 1, S, 2.0 * probability.normal_sf(c)))


class ManyLargeEntries(Checker):
    eq = "24"
    name = "z0_many_large_entries"
    statement = "|Gamma_0| = #{nu : |z0_nu| >= zeta_0} >= C L^p S with zeta_0 >= zeta0_min"
    statistic = "|Gamma_0|"
    sense = Sense.GE
    g_formula = "S"

    def g(self, ctx):
        return float(ctx.S)

    def reach(self, ctx):
        return (0.0, float(ctx.S))

    def check(self, ctx):
        """Exact: counts on z0 (S,)."""
        G0, z = Gamma0(ctx), zeta0(ctx)
        size = int(G0.size)
        zmin = ctx.profile.zeta0_min.factor(ctx.L)
        res = self.result(ctx, statistic=size, method="exact: count of |z0| >= zeta_0",
                          details={"zeta0": z, "zeta0_min": zmin, "Gamma0": [int(i) for i in G0]})
        if z < zmin and res.status is not Status.VACUOUS:
            res = self.result(ctx, statistic=size, method=res.method, status=Status.VIOLATED,
                              details={**res.details, "reason": "zeta_0 below its Omega~(1) floor"})
        return res


CHECKER = ManyLargeEntries()
