"""(21) Dual bound on the minimum singular value:
exists n* <= O~(n) with min_{|J|=n*} sigma_min((X^J)^T) >= n/m.

n* comes from the profile (paper: n* = n (ln n)^2, Appendix B). The family is empty (``vacuous``)
when n* > m. Otherwise the value min over J of sigma_min is bracketed: the upper end is the best
(J, xi) found by alternating minimisation (``statistic``), the lower end a Weyl bound.
"""

from __future__ import annotations

import math

from . import Checker
from ..results import Sense, Status
from ..search import Budget, search_sigma_min, sigma_min_lower_bound, sigma_min_T


class DualSigmaMin(Checker):
    eq = "21"
    name = "dual_sigma_min"
    statement = "min_{|J|=n*} sigma_min((X^J)^T) >= C L^p n/m, n* from the profile"
    statistic = "min over |J| = n* of sigma_min((X^J)^T) (best subset found)"
    sense = Sense.GE
    g_formula = "n/m"

    def g(self, ctx):
        return ctx.n / ctx.m

    def check(self, ctx):
        """Upper end by search (witness J, xi), lower end proved; X (n, m)."""
        n_star = ctx.profile.n_star_value(ctx.n)
        details = {"n_star": n_star, "effort": ctx.effort.to_dict()}
        if n_star > ctx.m:
            return self.result(ctx, statistic=None, method="family empty", status=Status.VACUOUS,
                               details={**details, "reason": f"n* = {n_star} > m = {ctx.m}"})
        if n_star < ctx.n:  # (X^J)^T is n* x n with a kernel: sigma_min = 0 for every J
            return self.result(ctx, statistic=0.0, lower=0.0, upper=0.0, method="exact: n* < n",
                               witness={"J": list(range(n_star)), "xi": None}, details=details)
        if n_star == ctx.m:
            v = math.sqrt(ctx.lambda_min_XXt)
            return self.result(ctx, statistic=v, lower=v, upper=v, method="exact: J = [m]",
                               witness={"J": list(range(ctx.m)), "xi": None}, details=details)
        found = search_sigma_min(ctx, n_star, ctx.search_rng(self.eq), Budget(ctx.effort.time_budget))
        upper = sigma_min_T(ctx.X, list(found.J))
        lower = min(sigma_min_lower_bound(ctx, n_star), upper)
        return self.result(ctx, statistic=upper, exact=False, lower=lower, upper=upper,
                           method=f"search ({found.found_by}); bound lambda_min(XX^T) - max ||X^K||^2",
                           witness={"J": list(found.J), "xi": list(found.xi)}, details=details)


CHECKER = DualSigmaMin()
