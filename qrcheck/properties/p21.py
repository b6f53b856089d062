"""(21) Dual bound on the minimum singular value:
exists n* <= O~(n) with min_{|J|=n*} sigma_min((X^J)^T) >= n/m.

n* comes from the profile (paper: n* = n (ln n)^2, Appendix B; sharp: the smallest n* an explicit
eps-net argument proves at failure probability delta). The family is empty (``vacuous``) when n* > m.
Otherwise the value is bracketed (docs/search.md): the upper end is the best (J, xi) found by
alternating minimisation (``statistic``; witness ``J``, ``xi`` with ||(X^J)^T xi|| = statistic), the
lower end a Weyl bound, both made rigorous with ``enclosures`` (verified lambda_min(X X^T) and
||X^K|| bounds; the witness's ||(X^J)^T xi|| / ||xi|| bounded above with its rounding error).
``details.n_star_interval`` brackets the smallest n* at which the property holds: a witness certifies
failure below ``lower``, the Weyl bound certifies it holds from ``upper``.

Rank-deficient data (issue 10 item 5): for any J and unit xi, ||(X^J)^T xi|| <= ||X^T xi||, so when
the bottom singular direction xi of X^T (rank(X) < n, or sigma_min(X^T) merely below n/m) has a
rigorous ||X^T xi|| below the threshold, (21) fails for every J and every admissible n*:
``violated`` with witness xi (and J the n* columns least aligned with xi); when the family is empty
(n* > m) the status stays ``vacuous`` and ``details.fails_for_every_n_star`` says so.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from . import Checker, CheckContext
from .. import probability
from ..quantities import Quantities
from ..results import Sense, Status
from ..search import Budget, Effort, Interval, Work, search_sigma_min, single_blas
from .p20 import norm_tail, norm_upper


def n_star_explicit(C: float, p: float, n: int) -> int:
    """n* of a profile ``Rule``: ceil(C n (ln n)^p) (1 when n = 1)."""
    return int(math.ceil(C * n * math.log(n) ** p)) if n > 1 else 1


def n_star(ctx: CheckContext) -> int:
    """(21)'s n* for this draw under the profile, whichever kind of rule it gives."""
    return ctx.count(ctx.profile.n_star, lambda r: n_star_explicit(r.C, r.p, ctx.n))


@lru_cache(maxsize=256)
def n_star_sharp(n: int, m: int, delta: float) -> int:
    """Smallest n* for which min_{|J|=n*} sigma_min((X^J)^T) >= n/m with probability >= 1 - delta,
    by the explicit form of the paper's Appendix B argument; m + 1 (empty family) when none <= m.

    With probability >= 1 - delta/2, ||X|| <= B = p20.norm_tail(n, m, m, delta/2). Take an eps-net N
    of S^{n-1}, |N| <= (1 + 2/eps)^n [Ver18, Cor 4.2.13], and r > 0. For a fixed xi the count
    #{j : |<X^j, xi>| < r} is Binomial(m, p_r), p_r exact (Beta law); it is <= c - 1 at every net
    point with probability >= 1 - delta/2 when |N| P(Bin(m, p_r) >= c) <= delta/2. Then every J with
    |J| = n* has ||(X^J)^T xi|| >= r sqrt(n* - c + 1) at the net points and, for any unit xi',
    ||(X^J)^T xi'|| >= r sqrt(n* - c + 1) - eps B. So n* = c - 1 + ceil(((n/m + eps B) / r)^2),
    minimised over a grid of (eps, r).
    """
    if n < 3 or m < n:
        return m + 1
    B = norm_tail(n, m, m, delta / 2.0)
    tau = n / m
    ks = np.arange(m + 1)
    best = m + 1
    for eps in np.geomspace(1e-4, 0.5, 28):
        ln_net = n * math.log1p(2.0 / eps)
        log_q = math.log(delta / 2.0) - ln_net
        for r in np.geomspace(1e-3, 1.0, 40) / math.sqrt(n):
            p = float(probability.slab_probability(n, r))
            if not 0.0 < p < 1.0:
                continue
            ok = np.flatnonzero(probability.binom_logsf(ks, m, p) <= log_q)  # sf(c-1) = P(count >= c)
            if ok.size == 0:
                continue
            c_minus_1 = int(ok[0])
            best = min(best, c_minus_1 + int(math.ceil(((tau + eps * B) / r) ** 2)))
    return min(best, m + 1)


def witness_value(X: np.ndarray, witness: dict) -> float:
    """||(X^J)^T xi|| for the witness (J, xi), X (n, m); equals sigma_min((X^J)^T) for the bottom xi."""
    return float(np.linalg.norm(X[:, witness["J"]].T @ np.asarray(witness["xi"], dtype=np.float64)))


def sigma_min_lower_bounds(q: Quantities) -> np.ndarray:
    """Proved lower ends for (21) at every n* = 0..m (array (m+1,)): X X^T = X^J X^J^T + X^K X^K^T
    (K the complement, |K| = m - n*), so by Weyl lambda_min(X^J X^J^T) >= lambda_min(X X^T) -
    max_{|K|=m-n*} ||X^K||^2, the first by a verified Cholesky, the last by (20)'s proved bound
    min(||X||^2, Gershgorin_k) with rigorous ingredients (``enclosures``); clipped at 0."""
    from .. import enclosures as E

    b = q.bounds
    per_k = np.minimum(b.X_norm_sq_upper, b.gershgorin_upper)  # entry k-1: k = 1..m
    loss = np.concatenate([per_k[::-1], [0.0]])  # n* = 0..m  ->  |K| = m..0
    return np.maximum(E.dn(np.sqrt(np.maximum(0.0, E.dn(b.lambda_min_XXt_lower - E.up(loss))))), 0.0)


#: ||X^T xi|| (unit columns) below which X counts as rank-deficient for reporting: then every n* <= m
#: fails (21) whatever the profile's constant, and (21) is ``violated`` even where the profile's n*
#: exceeds m (an addition to CONTRACT; docs/properties.md). The audit applies the same rule.
RANK_DEFICIENT_TOL = 1e-8


def global_null_direction(q: Quantities) -> tuple[np.ndarray, float]:
    """The bottom eigenvector xi of X X^T (n,) and a rigorous upper bound on ||X^T xi|| / ||xi||,
    which bounds sigma_min((X^J)^T) for every J (a sub-vector of X^T xi)."""
    from .. import enclosures as E

    w, V = np.linalg.eigh(q.X @ q.X.T)
    xi = V[:, 0]
    return xi, E.residual_norm_upper(q.X, xi)


@single_blas
def n_star_interval(q: Quantities, threshold: float, effort: Effort, rng: np.random.Generator,
                    budget: Budget, work: Work | None = None) -> Interval:
    """The smallest n* at which min_{|J|=n*} sigma_min((X^J)^T) >= threshold (the value increases
    with n*). Certified-hold side: the smallest n* whose proved lower end reaches the threshold.
    Certified-fail side: bisection with the search (no baseline) between n - 1 (sigma_min = 0 for
    every J when n* < n) and that n*, keeping the largest n* at which a witness falls below. Each
    bisection step's search gets an equal part of what is left of ``work`` (``search.Work.take``;
    default the effort's cap) among the at most ceil(log2(hi - lo + 1)) steps still to run."""
    n, m = q.n, q.m
    if threshold <= 0:  # sigma_min >= 0 always
        return Interval(1, 1, 1, None, None, None)
    lb = sigma_min_lower_bounds(q)
    ok = np.flatnonzero(lb >= threshold)
    proof_at = int(ok[0]) if ok.size else None
    fail_at, fail_value, fail_wit = (n - 1, 0.0, None) if n - 1 >= 1 else (None, None, None)
    lo = max(n, 1)
    hi = proof_at if proof_at is not None else m + 1  # search n* in [lo, hi)
    work = Work(effort.work_flops(n, m)) if work is None else work
    steps = (hi - lo).bit_length() if hi > lo else 0
    while lo < hi and not budget.spent():
        mid = (lo + hi) // 2
        found = search_sigma_min(q.X, mid, effort, rng, budget, baseline=False, work=work.take(steps))
        steps = max(steps - 1, 1)
        if found.value < threshold:
            fail_at, fail_value = mid, found.value
            fail_wit = {"J": list(found.J), "xi": list(found.xi)}
            lo = mid + 1
        else:
            hi = mid
    return Interval(None if fail_at is None else fail_at + 1, proof_at, proof_at, fail_at, fail_value, fail_wit)


class DualSigmaMin(Checker):
    eq = "21"
    name = "dual_sigma_min"
    statement = "min_{|J|=n*} sigma_min((X^J)^T) >= C L^p n/m, n* from the profile"
    statistic = "min over |J| = n* of sigma_min((X^J)^T) (best subset found)"
    sense = Sense.GE
    g_formula = "n/m"

    def g(self, ctx):
        return ctx.n / ctx.m

    def tail_count(self, ctx, delta):
        return n_star_sharp(ctx.n, ctx.m, float(delta))

    def check(self, ctx):
        """Upper end by search (witness J, xi), lower end proved; X (n, m)."""
        n, m = ctx.n, ctx.m
        q, n_s = ctx.q, n_star(ctx)
        thr, _, _ = ctx.threshold(self.eq, self.g(ctx))
        rng, budget = ctx.search_rng(self.eq), Budget(ctx.effort.time_budget)
        report = ctx.progress(self.eq, "(21) sigma_min search")
        report(0.0)
        # the work cap: half for the n* bisection, the rest for the search at the profile's n*
        work = Work(ctx.effort.work_flops(n, m))
        interval = n_star_interval(q, thr, ctx.effort, rng, budget, work.take(2))
        report(0.5)
        details = {"n_star": n_s, "n_star_interval": interval.to_json(), "effort": ctx.effort.to_dict(),
                   "work_cut": work.cut}
        xi, xi_upper = global_null_direction(q)
        fails_everywhere = thr > 0 and xi_upper < thr
        details["sigma_min_XT_upper"] = xi_upper  # >= ||X^T xi|| / ||xi|| >= sigma_min((X^J)^T), every J
        details["null_direction"] = [float(v) for v in xi]
        if n_s > m and fails_everywhere and m >= n and xi_upper < RANK_DEFICIENT_TOL:
            # The profile's n* leaves no n*-subset, but X (m >= n points) is rank-deficient: X^T has a
            # null direction xi (to eight digits), and every admissible n* <= m fails, since
            # sigma_min((X^J)^T) <= ||(X^J)^T xi|| <= ||X^T xi|| for every J. Reported as violated at the
            # largest admissible subset J = [m] (docs/properties.md). With m < n there are simply fewer
            # points than dimensions, and with a full-rank X (e.g. m close to n, where n/m is near 1) the
            # failure is the threshold's, not the data's: the empty family stays vacuous below.
            v = float(np.linalg.norm(q.X.T @ xi))
            details["budget_cut"] = budget.cut
            return self.result(ctx, statistic=v, exact=False, lower=0.0, upper=v, witness_bound=max(xi_upper, v),
                               method="exact: n* > m, and the bottom direction xi of X^T fails for every "
                                      "admissible n* <= m (||(X^J)^T xi|| <= ||X^T xi||, rigorous)",
                               witness={"J": list(range(m)), "xi": [float(x) for x in xi]},
                               details={**details, "fails_for_every_n_star": True,
                                        "reason": f"n* = {n_s} > m = {m}, but X has rank < n: every n* <= m "
                                                  f"fails, ||X^T xi|| <= {xi_upper:.3g} < {thr:.3g}"})
        if n_s > m:
            details["budget_cut"] = budget.cut
            reason = f"n* = {n_s} > m = {m}"
            if fails_everywhere:
                details["fails_for_every_n_star"] = True
                reason += (f"; (21) fails for every n* <= m: ||X^T xi|| <= {xi_upper:.3g} < {thr:.3g} "
                           "for the bottom direction xi")
            return self.result(ctx, statistic=None, method="family empty", status=Status.VACUOUS,
                               details={**details, "reason": reason})
        if fails_everywhere and n_s >= n:
            # every J: sigma_min((X^J)^T) <= ||(X^J)^T xi|| <= ||X^T xi|| < threshold
            J = [int(j) for j in np.sort(np.argsort(np.abs(q.X.T @ xi), kind="stable")[:n_s])]
            v = float(np.linalg.norm(q.X[:, J].T @ xi))
            details["budget_cut"] = budget.cut
            return self.result(ctx, statistic=v, exact=False, lower=0.0, upper=v, witness_bound=max(xi_upper, v),
                               method="exact: the bottom direction xi of X^T fails for every J "
                                      "(||(X^J)^T xi|| <= ||X^T xi||, rigorous)",
                               witness={"J": J, "xi": [float(x) for x in xi]},
                               details={**details, "fails_for_every_n_star": True})
        if n_s < n:  # (X^J)^T is n* x n with a kernel: sigma_min = 0 for every J
            import scipy.linalg

            J = list(range(n_s))
            xi = scipy.linalg.null_space(q.X[:, J].T)[:, 0]
            details["budget_cut"] = budget.cut
            return self.result(ctx, statistic=0.0, lower=0.0, upper=0.0, method="exact: n* < n",
                               witness={"J": J, "xi": [float(v) for v in xi]}, details=details)
        if n_s == m:
            w, V = np.linalg.eigh(ctx.q.X @ ctx.q.X.T)
            v = math.sqrt(max(0.0, float(w[0])))
            details["budget_cut"] = budget.cut
            lo = float(math.sqrt(max(q.bounds.lambda_min_XXt_lower, 0.0)))
            return self.result(ctx, statistic=v, exact=False, lower=min(lo, v), upper=v,
                               witness_bound=max(xi_upper, v),
                               method="exact: J = [m]; enclosure: verified lambda_min(X X^T), ||X^T xi||",
                               witness={"J": list(range(m)), "xi": [float(x) for x in V[:, 0]]},
                               details=details)
        found = search_sigma_min(q.X, n_s, ctx.effort, rng, budget, work=work.take(1))
        report(1.0)
        details["budget_cut"], details["work_cut"] = budget.cut, work.cut
        witness = {"J": list(found.J), "xi": list(found.xi)}
        from .. import enclosures as E

        w_up = E.residual_norm_upper(q.X[:, list(found.J)], np.asarray(found.xi, dtype=np.float64))
        details["witness_upper"] = w_up
        how = "every n*-subset" if found.exact else found.found_by
        lower = min(float(sigma_min_lower_bounds(q)[n_s]), found.value)
        return self.result(ctx, statistic=found.value, exact=False, lower=lower, upper=found.value,
                           witness_bound=max(w_up, found.value),
                           method=f"search ({how}); upper: the witness's rigorous ||(X^J)^T xi||; "
                                  "lower: verified lambda_min(XX^T) - max ||X^K||^2",
                           witness=witness, details=details)


CHECKER = DualSigmaMin()
