"""(30) NTK, first layer: if m <= o~(n S^{1/2}) then there is S* >= Omega~(n^2 S / (n^2 + m)) with
min over Gamma in (Gamma_0 choose |Gamma_0| - S*) of lambda_min(((A0)_Gamma * X)^T ((A0)_Gamma * X))
>= Omega(S).

Appendix C proves sigma_min >= sigma/2 with sigma = min(delta^{1/2}/3, 1/2) S^{1/2},
delta = lambda_min(H^w(X)); so the paper threshold is (1/4) S min(delta/9, 1/4).
The value is bracketed (docs/search.md): the upper end (``statistic``) is the best removal found
(witness ``removed``, relative to Gamma_0, which (24) lists); the lower end is a Weyl bound.
``details.S_star_interval`` brackets the largest S* at which the property holds, beside the paper's
scale n^2 S / (n^2 + m). Never forms A0 * X; above ``search.DENSE_LIMIT_30`` data points the
searches use matrix-free products with H_Gamma.
"""

from __future__ import annotations

from . import Checker
from ..results import Sense, Status
from ..search import Budget, RestrictedNTK, S_star_interval, removal_lower_bounds, search_removal


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
        details = {"premise_bound": premise, "Gamma0_size": int(ctx.Gamma0.size),
                   "reference_n2S_over_n2_plus_m": ctx.n ** 2 * ctx.S / (ctx.n ** 2 + ctx.m),
                   "effort": ctx.effort.to_dict()}
        if ctx.m > premise:
            return self.result(ctx, statistic=None, method="premise false", status=Status.NOT_APPLICABLE,
                               details={**details, "reason": f"m = {ctx.m} > n S^1/2 bound {premise:.4g}"})
        S_star = max(ctx.profile.S_star_for(ctx), 0)
        thr, _, _ = ctx.threshold(self.eq, self.g(ctx))
        details.update(S_star=S_star, lambda_min_Hw=ctx.lambda_min_Hw)
        if S_star > ctx.Gamma0.size:
            return self.result(ctx, statistic=None, method="family empty", status=Status.VACUOUS,
                               details={**details, "reason": f"S* = {S_star} > |Gamma_0| = {ctx.Gamma0.size}"})
        rng, budget = ctx.search_rng(self.eq), Budget(ctx.effort.time_budget)
        report = ctx.progress(self.eq, "(30) removal search")
        report(0.0)
        H = RestrictedNTK(ctx)
        lower_bounds, lam0 = removal_lower_bounds(ctx, H)
        details["lambda_min_H_Gamma0"] = lam0
        if thr > 0:
            details["S_star_interval"] = S_star_interval(ctx, thr, rng, budget, H, lower_bounds).to_json()
        report(0.5)
        if S_star == 0:
            details["budget_cut"] = budget.cut
            return self.result(ctx, statistic=lam0, lower=lam0, upper=lam0, method="exact: S* = 0",
                               witness={"removed": []}, details=details)
        found = search_removal(ctx, S_star, rng, budget, H=H)
        report(1.0)
        details["budget_cut"] = budget.cut
        witness = {"removed": list(found.removed)}
        if found.exact:
            return self.result(ctx, statistic=found.value, lower=found.value, upper=found.value,
                               method="exact: every removal of S* neurons", witness=witness, details=details)
        return self.result(ctx, statistic=found.value, exact=False,
                           lower=min(float(lower_bounds[S_star]), found.value), upper=found.value,
                           witness=witness, details=details,
                           method=f"search ({found.found_by}); bound Weyl: lambda_min(H_Gamma0) - "
                                  "sum of S* largest per-neuron lambda_max")


CHECKER = NTKFirstLayer()
