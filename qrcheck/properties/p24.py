"""(24) z0 has many large entries: exists zeta_0 >= Omega~(1) with |Gamma_0| >= Omega~(S).

zeta_0 is chosen as the largest value keeping |Gamma_0| >= gamma0_fraction * S (default 1/2; for
Rademacher z0 that is zeta_0 = 1 and Gamma_0 = all neurons). Gamma_0 is handed to (30). The check
fails when that zeta_0 is below the profile's Omega~(1) floor (C L^p, default 1/L) or |Gamma_0|
is below C L^p S.
"""

from __future__ import annotations

from . import Checker
from ..results import Sense, Status


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
        size = int(ctx.Gamma0.size)
        zmin = ctx.profile.zeta0_min.factor(ctx.L)
        res = self.result(ctx, statistic=size, method="exact: count of |z0| >= zeta_0",
                          details={"zeta0": ctx.zeta0, "zeta0_min": zmin,
                                   "Gamma0": [int(i) for i in ctx.Gamma0]})
        if ctx.zeta0 < zmin and res.status is not Status.VACUOUS:
            res = self.result(ctx, statistic=size, method=res.method, status=Status.VIOLATED,
                              details={**res.details, "reason": "zeta_0 below its Omega~(1) floor"})
        return res


CHECKER = ManyLargeEntries()
