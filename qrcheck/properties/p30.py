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

import math

import numpy as np

from . import Checker, CheckContext
from .. import model, probability
from ..quantities import Quantities
from ..results import Sense, Status
from ..search import (Budget, Effort, Interval, RestrictedNTK, per_neuron_lambda_max, search_removal,
                      single_blas)
from .p24 import Gamma0


def premise_bound(C: float, p: float, n: int, S: int) -> float:
    """The premise m <= o~(n S^{1/2}) under a profile Rule: m <= C n S^{1/2} / L^p, L = ln(n S)."""
    return C * n * math.sqrt(S) / math.log(n * S) ** p


def S_star_explicit(C: float, p: float, n: int, S: int, m: int) -> int:
    """S* of a profile ``Rule``: floor(C n^2 S / ((n^2 + m) L^p))."""
    L = math.log(n * S)
    return int(math.floor(C * n * n * S / ((n * n + m) * L ** p)))


def S_star(ctx: CheckContext) -> int:
    """(30)'s S* for this draw under the profile, whichever kind of rule it gives."""
    return ctx.count(ctx.profile.S_star, lambda r: S_star_explicit(r.C, r.p, ctx.n, ctx.S, ctx.m))


def restricted_ntk(ctx: CheckContext) -> RestrictedNTK:
    """H_Gamma for removals from Gamma_0 of this draw (dense or matrix-free, ``search.RestrictedNTK``)."""
    q = ctx.q
    return RestrictedNTK(q.X, q.A0, Gamma0(ctx), gram=q.gram)


def witness_value(X: np.ndarray, W0: np.ndarray, Gamma0: np.ndarray, witness: dict) -> float:
    """lambda_min(H_Gamma), Gamma = Gamma_0 minus the witness's ``removed``, from scratch with (7)."""
    keep = np.setdiff1d(Gamma0, np.asarray(witness["removed"], dtype=np.intp))
    A = model.activations(model.preactivations(W0[keep], X))
    return model.lambda_min(model.khatri_rao_gram(A, X))


def chernoff_bound(q: Quantities, Gamma0_size: int, delta: float) -> float:
    """lambda_min(H_Gamma0) >= chernoff_lower(|Gamma_0| lambda_min(H^w(X)), ||X||^2, m, delta) with
    probability >= 1 - delta, conditional on X and Gamma_0 (which depends on z0 only): H_Gamma0 is a
    sum of |Gamma_0| independent (X^T X) o (a a^T), a = 1(X^T w > 0), with mean H^w(X) and
    lambda_max = ||X^{supp a}||^2 <= ||X||^2."""
    return probability.chernoff_lower(Gamma0_size * q.lambda_min_Hw, q.X_norm ** 2, q.m, delta)


def threshold_sharp(q: Quantities, Gamma0_size: int, delta: float) -> float:
    """Half the Chernoff bound: removing S* = floor(bound / (2 ||X||^2)) neurons costs at most
    S* ||X||^2 <= bound / 2 (Weyl, each H_nu <= ||X||^2 I), so the minimum over removals stays
    >= bound / 2 whenever lambda_min(H_Gamma0) >= bound."""
    return chernoff_bound(q, Gamma0_size, delta) / 2.0


def S_star_sharp(q: Quantities, Gamma0_size: int, delta: float) -> int:
    """S* = floor(chernoff_bound / (2 ||X||^2)): the removals threshold_sharp is proved for."""
    X2 = q.X_norm ** 2
    return int(math.floor(chernoff_bound(q, Gamma0_size, delta) / (2.0 * X2))) if X2 > 0 else 0


def removal_lower_bounds(H: RestrictedNTK) -> tuple[np.ndarray, float]:
    """Proved lower ends for (30) at every S* = 0..|Gamma_0| (array) and lambda_min(H_Gamma0):
    H_Gamma = H_Gamma0 - sum_{removed} H_nu, so by Weyl lambda_min(H_Gamma) >= lambda_min(H_Gamma0)
    - (sum of the S* largest lambda_max(H_nu)). lambda_min(H_Gamma0) is computed densely (LAPACK)."""
    lam0 = H.exact_value(())
    lm = np.sort(per_neuron_lambda_max(H.X, H.A, H.G0, gram=H.gram))[::-1]
    return lam0 - np.concatenate([[0.0], np.cumsum(lm)]), lam0


@single_blas
def S_star_interval(H: RestrictedNTK, threshold: float, effort: Effort, rng: np.random.Generator,
                    budget: Budget, lower_bounds: np.ndarray) -> Interval:
    """The largest S* at which min over removals of lambda_min(H_Gamma) >= threshold (the value
    decreases with S*). Certified-hold side: the largest S* whose Weyl bound reaches the threshold.
    Certified-fail side: bisection with the search (no baseline) above it, keeping the smallest S*
    at which a witness falls below; the answer lies in [proof_at, fail_at - 1]."""
    ok = np.flatnonzero(lower_bounds >= threshold)
    if not ok.size:  # lower_bounds[0] = lambda_min(H_Gamma0) (exact) is below: fails at every S*
        return Interval(None, None, None, 0, float(lower_bounds[0]), {"removed": []})
    proof_at = int(ok[-1])
    lo, hi = proof_at + 1, H.G0.size  # search S* in [lo, hi]
    fail_at = fail_value = fail_wit = None
    while lo <= hi and not budget.spent():
        mid = (lo + hi) // 2
        found = search_removal(H, mid, effort, rng, budget, baseline=False)
        if found.value < threshold:
            fail_at, fail_value, fail_wit = mid, found.value, {"removed": list(found.removed)}
            hi = mid - 1
        else:
            lo = mid + 1
    return Interval(proof_at, None if fail_at is None else fail_at - 1, proof_at, fail_at,
                    fail_value, fail_wit)


class NTKFirstLayer(Checker):
    eq = "30"
    name = "ntk_first_layer"
    statement = ("m <= o~(n S^1/2) => min_{|Gamma| = |Gamma_0| - S*} "
                 "lambda_min(((A0)_Gamma * X)^T ((A0)_Gamma * X)) >= c S min(delta/9, 1/4)")
    statistic = "min over removals of S* neurons from Gamma_0 of lambda_min(H_Gamma) (best found)"
    sense = Sense.GE
    g_formula = "S min(lambda_min(H^w(X))/9, 1/4)"

    def g(self, ctx):
        return ctx.S * min(ctx.q.lambda_min_Hw / 9.0, 0.25)

    def tail_threshold(self, ctx, delta):
        return threshold_sharp(ctx.q, int(Gamma0(ctx).size), delta)

    def tail_count(self, ctx, delta):
        return S_star_sharp(ctx.q, int(Gamma0(ctx).size), delta)

    def check(self, ctx):
        """Upper end by search (witness: removed neurons), lower end proved; never forms A0 * X."""
        rule, G0 = ctx.profile.premise_30, Gamma0(ctx)
        premise = premise_bound(rule.C, rule.p, ctx.n, ctx.S)
        details = {"premise_bound": premise, "Gamma0_size": int(G0.size),
                   "reference_n2S_over_n2_plus_m": ctx.n ** 2 * ctx.S / (ctx.n ** 2 + ctx.m),
                   "effort": ctx.effort.to_dict()}
        if ctx.m > premise:
            return self.result(ctx, statistic=None, method="premise false", status=Status.NOT_APPLICABLE,
                               details={**details, "reason": f"m = {ctx.m} > n S^1/2 bound {premise:.4g}"})
        S_s = max(S_star(ctx), 0)
        thr, _, _ = ctx.threshold(self.eq, self.g(ctx))
        details.update(S_star=S_s, lambda_min_Hw=ctx.q.lambda_min_Hw)
        if S_s > G0.size:
            return self.result(ctx, statistic=None, method="family empty", status=Status.VACUOUS,
                               details={**details, "reason": f"S* = {S_s} > |Gamma_0| = {G0.size}"})
        rng, budget = ctx.search_rng(self.eq), Budget(ctx.effort.time_budget)
        report = ctx.progress(self.eq, "(30) removal search")
        report(0.0)
        H = restricted_ntk(ctx)
        lower_bounds, lam0 = removal_lower_bounds(H)
        details["lambda_min_H_Gamma0"] = lam0
        if thr > 0:
            details["S_star_interval"] = S_star_interval(H, thr, ctx.effort, rng, budget, lower_bounds).to_json()
        report(0.5)
        if S_s == 0:
            details["budget_cut"] = budget.cut
            return self.result(ctx, statistic=lam0, lower=lam0, upper=lam0, method="exact: S* = 0",
                               witness={"removed": []}, details=details)
        found = search_removal(H, S_s, ctx.effort, rng, budget)
        report(1.0)
        details["budget_cut"] = budget.cut
        witness = {"removed": list(found.removed)}
        if found.exact:
            return self.result(ctx, statistic=found.value, lower=found.value, upper=found.value,
                               method="exact: every removal of S* neurons", witness=witness, details=details)
        return self.result(ctx, statistic=found.value, exact=False,
                           lower=min(float(lower_bounds[S_s]), found.value), upper=found.value,
                           witness=witness, details=details,
                           method=f"search ({found.found_by}); bound Weyl: lambda_min(H_Gamma0) - "
                                  "sum of S* largest per-neuron lambda_max")


CHECKER = NTKFirstLayer()
