"""(30) NTK, first layer: if m <= o~(n S^{1/2}) then there is S* >= Omega~(n^2 S / (n^2 + m)) with
min over Gamma in (Gamma_0 choose |Gamma_0| - S*) of lambda_min(((A0)_Gamma * X)^T ((A0)_Gamma * X))
>= Omega(S).

Appendix C proves sigma_min >= sigma/2 with sigma = min(delta^{1/2}/3, 1/2) |Gamma_0|^{1/2} (its S
is |Gamma_0|: it assumes w.l.o.g. Gamma_0 = [S], erratum 18), delta = lambda_min(H^w(X)). Schema 2
(docs/properties.md, "Thresholds (schema 2)"): threshold (1/4) |Gamma_0| min(delta_bar/9, 1/4) with
delta_bar = max(kappa_0, beta_w(gamma_bar, m)) proved from (19) (``kernels.kernel_bar``), never the
data's own lambda_min(H^w(X)) (reported as a diagnostic); S* = floor(C n^2 |Gamma_0| / ((n^2 + m) L^p)).
The value is bracketed (docs/search.md): the upper end (``statistic``) is the best removal found
(witness ``removed``, relative to Gamma_0, which (24) lists), made rigorous by a verified eigenvalue
bound of the witness's H_Gamma; the lower end is a Weyl bound with verified pieces (lambda_min(H_Gamma0)
by a verified Cholesky, each per-neuron lambda_max by a batched verified Cholesky).
``details.S_star_interval`` brackets the largest S* at which the property holds, beside the paper's
scale n^2 |Gamma_0| / (n^2 + m). Never forms A0 * X; above ``search.DENSE_LIMIT_30`` data points the
searches use matrix-free products with H_Gamma.
"""

from __future__ import annotations

import math

import numpy as np

from . import Checker, CheckContext
from .. import enclosures as E, kernels, model, probability, spectral
from ..quantities import Quantities
from ..results import Sense, Status
from ..profiles import Rule
from ..search import DENSE_LIMIT_30, Budget, Effort, Interval, RestrictedNTK, search_removal, single_blas
from .p24 import Gamma0
from .p29 import limit_kernel_details


def premise_bound(C: float, p: float, n: int, S: int) -> float:
    """The premise m <= o~(n S^{1/2}) under a profile Rule: m <= C n S^{1/2} / L^p, L = ln(n S)."""
    return C * n * math.sqrt(S) / math.log(n * S) ** p


def S_star_explicit(C: float, p: float, n: int, S: int, m: int, L: float | None = None) -> int:
    """S* of a profile ``Rule``: floor(C n^2 S / ((n^2 + m) L^p)); schema 2 passes S = |Gamma_0| and
    L = ln(n S) of the draw."""
    L = math.log(n * S) if L is None else L
    return int(math.floor(C * n * n * S / ((n * n + m) * L ** p)))


def S_star(ctx: CheckContext) -> int:
    """(30)'s S* for this draw under the profile, whichever kind of rule it gives (|Gamma_0| in
    place of the printed S, erratum 18)."""
    G = int(Gamma0(ctx).size)
    return ctx.count(ctx.profile.S_star, lambda r: S_star_explicit(r.C, r.p, ctx.n, G, ctx.m, ctx.L))


def kappa0(ctx: CheckContext) -> float:
    """The data-independent Omega(1) floor kappa_0 (profile ``kernel_floor``)."""
    return float(getattr(ctx.profile, "kernel_floor", kernels.KAPPA0))


def delta_bar(ctx: CheckContext) -> float:
    """max(kappa_0, beta_w(gamma_bar, m)): the Omega(1) factor of (30)'s bar in place of delta."""
    return kernels.kernel_bar("w", ctx.q.bounds.gamma_bar, ctx.m, kappa0(ctx))


def restricted_ntk(ctx: CheckContext) -> RestrictedNTK:
    """H_Gamma for removals from Gamma_0 of this draw (dense or matrix-free, ``search.RestrictedNTK``)."""
    q = ctx.q
    if q.matrix_free:   # no m x m array: X^T X is never formed, every H_Gamma applied through (7)
        return RestrictedNTK(q.X, q.A0, Gamma0(ctx), dense_limit=q.dense_limit, matrix_free=True)
    return RestrictedNTK(q.X, q.A0, Gamma0(ctx), gram=q.gram, dense_limit=min(DENSE_LIMIT_30, q.dense_limit))


def witness_value(X: np.ndarray, W0: np.ndarray, Gamma0: np.ndarray, witness: dict) -> float:
    """lambda_min(H_Gamma), Gamma = Gamma_0 minus the witness's ``removed``, from scratch with (7)."""
    keep = np.setdiff1d(Gamma0, np.asarray(witness["removed"], dtype=np.intp))
    A = model.activations(model.preactivations(W0[keep], X))
    return model.lambda_min(model.khatri_rao_gram(A, X))


def chernoff_bound(q: Quantities, Gamma0_size: int, delta: float, lam_w: float | None = None,
                   X2: float | None = None) -> float:
    """lambda_min(H_Gamma0) >= chernoff_lower(|Gamma_0| lambda_min(H^w(X)), ||X||^2, m, delta) with
    probability >= 1 - delta, conditional on X and Gamma_0 (which depends on z0 only): H_Gamma0 is a
    sum of |Gamma_0| independent (X^T X) o (a a^T), a = 1(X^T w > 0), with mean H^w(X) and
    lambda_max = ||X^{supp a}||^2 <= ||X||^2. Schema 2: ``lam_w`` = beta_w(gamma_bar, m) <=
    lambda_min(H^w(X)) and ``X2`` the rigorous upper bound of ||X||^2 (defaults: the data's values)."""
    lam = q.lambda_min_Hw if lam_w is None else lam_w
    return probability.chernoff_lower(Gamma0_size * lam, q.X_norm ** 2 if X2 is None else X2, q.m, delta)


def threshold_sharp(q: Quantities, Gamma0_size: int, delta: float, lam_w: float | None = None,
                    X2: float | None = None) -> float:
    """Half the Chernoff bound: removing S* = floor(bound / (2 ||X||^2)) neurons costs at most
    S* ||X||^2 <= bound / 2 (Weyl, each H_nu <= ||X||^2 I), so the minimum over removals stays
    >= bound / 2 whenever lambda_min(H_Gamma0) >= bound."""
    return chernoff_bound(q, Gamma0_size, delta, lam_w, X2) / 2.0


def S_star_sharp(q: Quantities, Gamma0_size: int, delta: float, lam_w: float | None = None,
                 X2: float | None = None) -> int:
    """S* = floor(chernoff_bound / (2 ||X||^2)): the removals threshold_sharp is proved for."""
    X2 = q.X_norm ** 2 if X2 is None else X2
    return int(math.floor(chernoff_bound(q, Gamma0_size, delta, lam_w, X2) / (2.0 * X2))) if X2 > 0 else 0


def _sharp_args(ctx: CheckContext) -> tuple[float, float]:
    b = ctx.q.bounds
    return kernels.lambda_min_Hw_bound(b.gamma_bar, ctx.m), b.X_norm_sq_upper


@single_blas
def per_neuron_lambda_max_upper(X: np.ndarray, A0: np.ndarray, idx: np.ndarray, gram: np.ndarray,
                                gbound: "E.ProductBound", chunk: int = 32) -> np.ndarray:
    """Rigorous upper bounds on lambda_max(H_nu) = ||X^{supp a_nu}||^2 for nu in idx: batched
    eigvalsh of X diag(a_nu) X^T (n x n; formation error <= gamma_m ||X||_F^2) or of
    (X^T X) o (a_nu a_nu^T) (m x m; error <= the Gram radius's norm, the 0/1 mask is exact),
    whichever is smaller (always the n x n one when ``gram`` is None: nothing m x m), then a batched
    verified Cholesky (``enclosures.lambda_max_batched_upper``)."""
    n, m = X.shape
    out = np.empty(len(idx))
    small = n <= m or gram is None
    err = E.up(E.gamma(m) * E.frobenius_upper(X) ** 2 + m * n * E.ETA) if small else gbound.norm2()
    for s in range(0, len(idx), chunk):
        Ac = A0[idx[s:s + chunk]].astype(np.float64)
        if small:
            Gs = (X[None, :, :] * Ac[:, None, :]) @ X.T
        else:
            Gs = model.khatri_rao_gram(Ac[:, None, :], X, gram=gram)  # (7) per neuron
        vals = np.linalg.eigvalsh(Gs)[:, -1]
        out[s:s + chunk] = E.lambda_max_batched_upper(Gs, vals, err)
    return out


def H_Gamma_error(H: RestrictedNTK, gbound: "E.ProductBound", AtA: np.ndarray) -> float:
    """Formation error of H_Gamma = (X^T X) o (A_Gamma^T A_Gamma): the counts are exact integers."""
    return E.H_error(AtA, float(np.max(np.abs(H.gram))) if H.m else 0.0, gbound, 0.0, 0.0)


def removal_lower_bounds(H: RestrictedNTK, gbound: "E.ProductBound | None" = None) -> tuple[np.ndarray, float]:
    """(proved lower ends for every S* = 0..|Gamma_0|, LAPACK's lambda_min(H_Gamma0)): see
    :func:`removal_bounds`."""
    lbs, e0 = removal_bounds(H, E.gram_bound(H.X) if gbound is None else gbound)
    return lbs, e0.value


def removal_bounds(H: RestrictedNTK, gbound: "E.ProductBound") -> tuple[np.ndarray, "E.EigenBound"]:
    """Proved lower ends for (30) at every S* = 0..|Gamma_0| (array) and the enclosure of
    lambda_min(H_Gamma0): H_Gamma = H_Gamma0 - sum_{removed} H_nu, so by Weyl lambda_min(H_Gamma) >=
    lambda_min(H_Gamma0) - (sum of the S* largest lambda_max(H_nu)); the first by a verified
    Cholesky (``enclosures.lambda_min_enclosure``), the others by verified upper bounds. When
    ``H.matrix_free`` the first is [0, a rigorous Rayleigh bound] (``matrix_free_enclosure``), so
    the lower ends are <= 0: nothing is proved to hold."""
    if H.matrix_free:
        e0 = matrix_free_enclosure(H, ())
        lm = np.sort(per_neuron_lambda_max_upper(H.X, H.A, H.G0, None, gbound))[::-1]
    else:
        e0 = E.lambda_min_enclosure(H.dense_matrix(()), H_Gamma_error(H, gbound, H.AtA0))
        lm = np.sort(per_neuron_lambda_max_upper(H.X, H.A, H.G0, H.gram, gbound))[::-1]
    cs = E.up(np.cumsum(lm) * (1.0 + E.gamma(max(len(lm), 1) + 1)))
    return E.dn(e0.lower - np.concatenate([[0.0], cs])), e0


def witness_enclosure(H: RestrictedNTK, gbound: "E.ProductBound", removed) -> "E.EigenBound":
    """A rigorous enclosure of lambda_min(H_Gamma), Gamma = Gamma_0 minus ``removed`` (dense, or
    ``matrix_free_enclosure``)."""
    if H.matrix_free:
        return matrix_free_enclosure(H, removed)
    Ar = H.A[list(removed)]
    AtA = H.AtA0 - Ar.T @ Ar
    return E.lambda_min_enclosure(H.dense_matrix(removed), H_Gamma_error(H, gbound, AtA))


def matrix_free_enclosure(H: RestrictedNTK, removed) -> "E.EigenBound":
    """lambda_min(H_Gamma), Gamma = Gamma_0 minus ``removed``, without an m x m array: 0 exactly by
    rank when m > |Gamma| n, else the iterative ``spectral.lambda_min_H`` with the enclosure
    [0, a rigorous Rayleigh bound of its vector] (``enclosures.matrix_free_bound``)."""
    keep = np.setdiff1d(H.G0, np.asarray(list(removed), dtype=np.intp))
    A, n = H.A[keep], H.X.shape[0]
    ext = spectral.lambda_min_H(H.X, None, A, dense_limit=0)
    if H.m > keep.size * n:
        return E.rank_zero(ext.value, "H_Gamma", "|Gamma| n")
    diag = A.sum(axis=0) * H.gram_diag
    return E.matrix_free_bound(ext, lambda v: E.khatri_rao_rayleigh_upper(A, H.X, v), diag)


@single_blas
def S_star_interval(H: RestrictedNTK, threshold: float, effort: Effort, rng: np.random.Generator,
                    budget: Budget, lower_bounds: np.ndarray, lam0: float | None = None) -> Interval:
    """The largest S* at which min over removals of lambda_min(H_Gamma) >= threshold (the value
    decreases with S*). Certified-hold side: the largest S* whose Weyl bound reaches the threshold.
    Certified-fail side: bisection with the search (no baseline) above it, keeping the smallest S*
    at which a witness falls below; the answer lies in [proof_at, fail_at - 1]. ``lam0``: LAPACK's
    lambda_min(H_Gamma0) (the value at S* = 0; ``lower_bounds[0]`` is only its proved lower end)."""
    lam0 = H.exact_value(()) if lam0 is None else float(lam0)
    ok = np.flatnonzero(lower_bounds >= threshold)
    if not ok.size and lam0 < threshold:  # fails already at S* = 0, hence at every S*
        return Interval(None, -1, None, 0, lam0, {"removed": []})
    proof_at = int(ok[-1]) if ok.size else None
    lo, hi = (proof_at + 1 if proof_at is not None else 1), H.G0.size  # search S* in [lo, hi]
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
                 "lambda_min(((A0)_Gamma * X)^T ((A0)_Gamma * X)) >= c |Gamma_0| min(delta_bar/9, 1/4)")
    statistic = "min over removals of S* neurons from Gamma_0 of lambda_min(H_Gamma) (best found)"
    sense = Sense.GE
    g_formula = "|Gamma_0| min(max(kappa_0, beta_w(gamma_bar, m))/9, 1/4)"

    def g(self, ctx):
        return int(Gamma0(ctx).size) * min(delta_bar(ctx) / 9.0, 0.25)

    def tail_threshold(self, ctx, delta):
        G = int(Gamma0(ctx).size)
        floor = 0.25 * G * min(kappa0(ctx) / 9.0, 0.25)
        return max(threshold_sharp(ctx.q, G, delta, *_sharp_args(ctx)), floor)

    def tail_count(self, ctx, delta):
        return S_star_sharp(ctx.q, int(Gamma0(ctx).size), delta, *_sharp_args(ctx))

    def check(self, ctx):
        """Upper end by search (witness: removed neurons), lower end proved; never forms A0 * X."""
        rule, G0 = ctx.profile.premise_30, Gamma0(ctx)
        premise = premise_bound(rule.C, rule.p, ctx.n, ctx.S)
        details = {"premise_bound": premise, "Gamma0_size": int(G0.size),
                   "reference_n2S_over_n2_plus_m": ctx.n ** 2 * G0.size / (ctx.n ** 2 + ctx.m),
                   "S_star_rule": ("floor(C n^2 |Gamma_0| / ((n^2 + m) L^p)), C = {:g}, p = {:g}; Appendix C "
                                   "needs an unspecified 'sufficiently large' exponent: p = 1 is the "
                                   "largest S* of that family, a choice (docs/properties.md)".format(
                                       ctx.profile.S_star.C, ctx.profile.S_star.p)
                                   if isinstance(ctx.profile.S_star, Rule) else ctx.profile.S_star.formula),
                   "effort": ctx.effort.to_dict()}
        if ctx.m > premise:
            return self.result(ctx, statistic=None, method="premise false", status=Status.NOT_APPLICABLE,
                               details={**details, "reason": f"m = {ctx.m} > n S^1/2 bound {premise:.4g}"})
        S_s = max(S_star(ctx), 0)
        thr, _, _ = ctx.threshold(self.eq, self.g(ctx))
        b = ctx.q.bounds
        details.update(S_star=S_s, gamma_bar=b.gamma_bar,
                       beta_w=kernels.lambda_min_Hw_bound(b.gamma_bar, ctx.m), kappa0=kappa0(ctx),
                       lambda_min_Hw=ctx.q.lambda_min_Hw)  # the data's own: a diagnostic, not the bar
        if ctx.q.matrix_free:
            details["limit_kernels"] = limit_kernel_details(ctx.q)["limit_kernels"]
        elif ctx.q.Hw_extreme.residual is not None:
            details["lambda_min_Hw_residual"] = ctx.q.Hw_extreme.residual   # its stated accuracy
        if S_s > G0.size:
            return self.result(ctx, statistic=None, method="family empty", status=Status.VACUOUS,
                               details={**details, "reason": f"S* = {S_s} > |Gamma_0| = {G0.size}"})
        rng, budget = ctx.search_rng(self.eq), Budget(ctx.effort.time_budget)
        report = ctx.progress(self.eq, "(30) removal search")
        report(0.0)
        H = restricted_ntk(ctx)
        gb = b.gram_bound
        lower_bounds, e0 = removal_bounds(H, gb)
        if not ctx.q.P0_product.signs_exact:  # A0 itself is not proved: nothing about H_Gamma is
            lower_bounds = np.full_like(lower_bounds, -np.inf)
            e0 = E.EigenBound(e0.value, -np.inf, np.inf, np.inf, "activation signs left open by rounding")
        lam0 = e0.value
        details["lambda_min_H_Gamma0"] = lam0
        if thr > 0:
            details["S_star_interval"] = S_star_interval(H, thr, ctx.effort, rng, budget, lower_bounds,
                                                         lam0).to_json()
        report(0.5)
        if S_s == 0:
            details["budget_cut"] = budget.cut
            return self.result(ctx, enclosure=e0.enclosure(), witness={"removed": []}, details=details,
                               method="exact: S* = 0; enclosure " + e0.method)
        found = search_removal(H, S_s, ctx.effort, rng, budget)
        report(1.0)
        details["budget_cut"] = budget.cut
        witness = {"removed": list(found.removed)}
        we = witness_enclosure(H, gb, found.removed)
        if not ctx.q.P0_product.signs_exact:
            we = E.EigenBound(we.value, -np.inf, np.inf, np.inf, "activation signs left open by rounding")
        details["witness_upper"] = we.upper
        how = "every removal of S* neurons" if found.exact else found.found_by
        lower_how = ("Weyl, verified lambda_min(H_Gamma0) - sum of S* largest verified per-neuron lambda_max"
                     if not H.matrix_free else
                     f"none proved (m = {ctx.m} > dense_limit {ctx.q.dense_limit}: matrix-free, lambda_min(H_Gamma0) "
                     "only iterative, so never certified)")
        return self.result(ctx, statistic=found.value, exact=False, witness_bound=max(we.upper, found.value),
                           lower=min(float(lower_bounds[S_s]), found.value), upper=found.value,
                           witness=witness, details=details,
                           method=f"search ({how}); upper: verified bound of the witness; lower: {lower_how}")


CHECKER = NTKFirstLayer()
