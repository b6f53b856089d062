"""(24) z0 has many large entries: exists zeta_0 >= Omega~(1) with |Gamma_0| >= Omega~(S).

Schema 2 (docs/properties.md, "Thresholds (schema 2)"): zeta_0 is the profile's explicit Omega~(1)
bound itself, zeta_0 = C L^p (profile ``zeta0_min``: ``paper`` 1/L, ``sharp`` 0.001), Gamma_0 =
{nu : |z0_nu| >= zeta_0}, and the check is |Gamma_0| >= C L^p S (profile threshold of (24):
``paper`` S/L, ``sharp`` S/2); the threshold shown is the one applied. Gamma_0 is handed to (30).
"""

from __future__ import annotations

import math

import numpy as np

from . import Checker, CheckContext
from .. import probability
from ..results import Sense


def zeta0(ctx: CheckContext) -> float:
    """zeta_0 = the profile's explicit Omega~(1) bound ``zeta0_min`` = C L^p (schema 2)."""
    return float(ctx.profile.zeta0_min.factor(ctx.L))


def Gamma0(ctx: CheckContext) -> np.ndarray:
    """(24): indices nu with |z0_nu| >= zeta_0, sorted (cached on the context; (30) uses them)."""
    return ctx.memo("24.Gamma0", lambda: np.flatnonzero(np.abs(ctx.q.z0) >= zeta0(ctx)))


def zeta0_failure(S: int, c: float, fraction: float = 0.5) -> float:
    """P(|Gamma_0| < fraction S) for Gaussian z0 and zeta_0 = c (the ``sharp`` rule: zeta_0 = 0.001,
    threshold S/2): fewer than ceil(fraction S) of the |z0_nu| are >= c, a Binomial(S, 2 Phi-bar(c))
    lower tail.
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
        """Exact (comparisons and a count, no rounding): |Gamma_0| for zeta_0 = the profile's
        explicit bound, z0 (S,)."""
        G0, z = Gamma0(ctx), zeta0(ctx)
        size = int(G0.size)
        return self.result(ctx, statistic=size, lower=size, upper=size,
                           method="exact: count of |z0| >= zeta_0, zeta_0 = the profile's zeta0_min",
                           details={"zeta0": z, "zeta0_min": z, "Gamma0": [int(i) for i in G0]})


CHECKER = ManyLargeEntries()
