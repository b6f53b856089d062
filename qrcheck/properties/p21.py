"""(21) Dual bound on the minimum singular value:
exists n* <= O~(n) with min_{|J|=n*} sigma_min((X^J)^T) >= n/m.

n* comes from the profile (paper: n* = n (ln n)^2, Appendix B; sharp: the smallest n* an explicit
eps-net argument proves at failure probability delta). The family is empty (``vacuous``) when n* > m.
Otherwise the value is bracketed (docs/search.md): the upper end is the best (J, xi) found by
alternating minimisation (``statistic``; witness ``J``, ``xi`` with ||(X^J)^T xi|| = statistic), the
lower end a Weyl bound. ``details.n_star_interval`` brackets the smallest n* at which the property
holds: a witness certifies failure below ``lower``, the Weyl bound certifies it holds from ``upper``.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg

from . import Checker
from ..results import Sense, Status
from ..search import Budget, n_star_interval, search_sigma_min, sigma_min_lower_bounds


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
        n, m = ctx.n, ctx.m
        n_star = ctx.profile.n_star_for(ctx)
        thr, _, _ = ctx.threshold(self.eq, self.g(ctx))
        rng, budget = ctx.search_rng(self.eq), Budget(ctx.effort.time_budget)
        report = ctx.progress(self.eq, "(21) sigma_min search")
        report(0.0)
        interval = n_star_interval(ctx, thr, rng, budget)
        report(0.5)
        details = {"n_star": n_star, "n_star_interval": interval.to_json(), "effort": ctx.effort.to_dict()}
        if n_star > m:
            details["budget_cut"] = budget.cut
            return self.result(ctx, statistic=None, method="family empty", status=Status.VACUOUS,
                               details={**details, "reason": f"n* = {n_star} > m = {m}"})
        if n_star < n:  # (X^J)^T is n* x n with a kernel: sigma_min = 0 for every J
            J = list(range(n_star))
            xi = scipy.linalg.null_space(ctx.X[:, J].T)[:, 0]
            details["budget_cut"] = budget.cut
            return self.result(ctx, statistic=0.0, lower=0.0, upper=0.0, method="exact: n* < n",
                               witness={"J": J, "xi": [float(v) for v in xi]}, details=details)
        if n_star == m:
            w, V = np.linalg.eigh(ctx.X @ ctx.X.T)
            v = math.sqrt(max(0.0, float(w[0])))
            details["budget_cut"] = budget.cut
            return self.result(ctx, statistic=v, lower=v, upper=v, method="exact: J = [m]",
                               witness={"J": list(range(m)), "xi": [float(x) for x in V[:, 0]]},
                               details=details)
        found = search_sigma_min(ctx, n_star, rng, budget)
        report(1.0)
        details["budget_cut"] = budget.cut
        witness = {"J": list(found.J), "xi": list(found.xi)}
        if found.exact:
            return self.result(ctx, statistic=found.value, lower=found.value, upper=found.value,
                               method="exact: every n*-subset", witness=witness, details=details)
        lower = min(float(sigma_min_lower_bounds(ctx)[n_star]), found.value)
        return self.result(ctx, statistic=found.value, exact=False, lower=lower, upper=found.value,
                           method=f"search ({found.found_by}); bound lambda_min(XX^T) - max ||X^K||^2",
                           witness=witness, details=details)


CHECKER = DualSigmaMin()
