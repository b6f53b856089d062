"""(30) NTK, first layer: if m <= o~(n S^{1/2}) then there is S* >= Omega~(n^2 S / (n^2 + m)) with
min over Gamma in (Gamma_0 choose |Gamma_0| - S*) of lambda_min(((A0)_Gamma * X)^T ((A0)_Gamma * X))
>= Omega(S).

Appendix C proves sigma_min >= sigma/2 with sigma = min(delta^{1/2}/3, 1/2) S^{1/2},
delta = lambda_min(H^w(X)); so the paper threshold is (1/4) S min(delta/9, 1/4).
The upper end (``statistic``) is the best removal found; the lower end is a Weyl bound.
"""

from __future__ import annotations

from . import Checker
from ..results import Sense, Status
from ..search import Budget, removal_lower_bound, search_removal


class NTKFirstLayer(Checker):
    eq = "30"
    name = "ntk_first_layer"
    statement = ("m <= o~(n S^1/2) => min_{|Gamma| = |Gamma_0| - S*} "
                 "lambda_min(((A0)_Gamma * X)^T ((A0)_Gamma * X)) >= c S min(delta/9, 1/4)")
    statistic = "min over removals of S* neurons from Gamma_0 of lambda_min(H_Gamma) (best found)"
    sense = Sense.GE
    g_formula = "S min(lambda_min(H^w(X))/9, 1/4)"

    def g(self, ctx):
        return ctx.S * min(ctx.lambda_min_Hw / 9.0, 0.25)

    def check(self, ctx):
        """Upper end by search (witness: removed neurons), lower end proved; never forms A0 * X."""
        premise = ctx.profile.premise_30_bound(ctx.n, ctx.S)
        S_star = ctx.profile.S_star_value(ctx.n, ctx.S, ctx.m)
        details = {"S_star": S_star, "premise_bound": premise, "Gamma0_size": int(ctx.Gamma0.size),
                   "reference_n2S_over_n2_plus_m": ctx.n ** 2 * ctx.S / (ctx.n ** 2 + ctx.m),
                   "lambda_min_Hw": ctx.lambda_min_Hw, "effort": ctx.effort.to_dict()}
        if ctx.m > premise:
            thr, _, _ = ctx.threshold(self.eq, self.g(ctx))
            return self.result(ctx, statistic=None, method="premise false", status=Status.NOT_APPLICABLE,
                               details={**details, "reason": f"m = {ctx.m} > n S^1/2 bound {premise:.4g}"})
        if S_star > ctx.Gamma0.size:
            return self.result(ctx, statistic=None, method="family empty", status=Status.VACUOUS,
                               details={**details, "reason": f"S* = {S_star} > |Gamma_0| = {ctx.Gamma0.size}"})
        S_star = max(S_star, 0)
        lower, lam0 = removal_lower_bound(ctx, S_star)
        details["lambda_min_H_Gamma0"] = lam0
        if S_star == 0:
            return self.result(ctx, statistic=lam0, lower=lam0, upper=lam0, method="exact: S* = 0",
                               witness={"removed": []}, details=details)
        found = search_removal(ctx, S_star, ctx.search_rng(self.eq), Budget(ctx.effort.time_budget))
        return self.result(ctx, statistic=found.value, exact=False, lower=min(lower, found.value),
                           upper=found.value, witness={"removed": list(found.removed)}, details=details,
                           method=f"search ({found.found_by}); bound Weyl: lambda_min(H_Gamma0) - "
                                  "sum of S* largest per-neuron lambda_max")


CHECKER = NTKFirstLayer()
