"""(29) NTK, second layer: lambda_min(G0) >= Omega(S), G0 = F0^T F0.

Appendix C: G0 is a sum of S i.i.d. rank-one matrices with mean H^z(X); matrix Chernoff with
delta = 1/2 gives lambda_min(G0) >= (1/2) S lambda_min(H^z(X)). Schema 2 (docs/properties.md,
"Thresholds (schema 2)"): the bar never shrinks with the data; lambda_min(H^z(X)) is replaced by
max(kappa_0, beta_z(gamma_bar, m)), beta_z the Appendix C lower bound proved from the (19)
statistic's rigorous upper end gamma_bar (``kernels.kernel_bar``), kappa_0 a data-independent floor.
The data's own lambda_min(H^z(X)) is reported in ``details`` as a diagnostic only. The statistic
lambda_min(G0) carries a rigorous enclosure (``enclosures.lambda_min_enclosure``: formation error
of G0 by Weyl, verified Cholesky below, Rayleigh quotient above).
"""

from __future__ import annotations

import math

import numpy as np

from . import Checker
from .. import kernels, probability
from ..quantities import Quantities
from ..results import Sense


def kappa0(ctx) -> float:
    """The data-independent Omega(1) floor kappa_0 (profile ``kernel_floor``, default kernels.KAPPA0)."""
    return float(getattr(ctx.profile, "kernel_floor", kernels.KAPPA0))


def lambda_bar_z(ctx) -> float:
    """max(kappa_0, beta_z(gamma_bar, m)): the Omega(1) factor of (29)'s bar."""
    return kernels.kernel_bar("z", ctx.q.bounds.gamma_bar, ctx.m, kappa0(ctx))


def threshold_sharp(q: Quantities, delta: float, lam_z: float | None = None, X2: float | None = None) -> float:
    """lambda_min(G0) >= max over r of chernoff_lower(mu(r), ||X||^2 r, m, delta), conditional on X.

    G0 >= sum_nu Y_nu with Y_nu = F_nu F_nu^T 1(||(W0)_nu||^2 <= r) (dropped terms are PSD);
    lambda_max(Y_nu) <= ||X||^2 r; E Y >= H^z(X) - ||X||^2 E[||w||^2 1(||w||^2 > r)] I and
    E[||w||^2 1(||w||^2 > r)] = n P(chi^2_{n+2} > r), so mu(r) = S (lambda_min(H^z) - ||X||^2 n
    P(chi^2_{n+2} > r)). r ranges over chi^2_n quantiles. The threshold is conditional on X, which
    is why it reads the draw's quantities; the unconditional failure probability is <= delta too.
    Schema 2: ``lam_z`` (in place of lambda_min(H^z), default the data's) is beta_z(gamma_bar, m)
    <= lambda_min(H^z) and ``X2`` the rigorous upper bound of ||X||^2, so the bound stays valid."""
    n, S, m = q.n, q.S, q.m
    X2 = q.X_norm ** 2 if X2 is None else X2
    lam = q.lambda_min_Hz if lam_z is None else lam_z
    best = 0.0
    for qq in np.geomspace(1e-12, 0.5, 60):
        r = probability.chi2_isf(qq, n)
        mu = S * (lam - X2 * n * probability.chi2_sf(r, n + 2))
        best = max(best, probability.chernoff_lower(mu, X2 * r, m, delta))
    return best


class NTKSecondLayer(Checker):
    eq = "29"
    name = "ntk_second_layer"
    statement = "lambda_min(G0) >= c S max(kappa_0, beta_z(gamma_bar, m))"
    statistic = "lambda_min(G0), G0 = relu(W0 X)^T relu(W0 X)"
    sense = Sense.GE
    g_formula = "S max(kappa_0, beta_z(gamma_bar, m))"

    def g(self, ctx):
        return ctx.S * lambda_bar_z(ctx)

    def reach(self, ctx):
        # below the proven formation-error bound of G0 a threshold is indistinguishable from 0 on
        # these arrays (lambda_min(G0) >= 0 always): it can never bind (e.g. C = 1e-300)
        return (ctx.q.bounds.G0_error, math.inf)

    def tail_threshold(self, ctx, delta):
        b = ctx.q.bounds
        beta = kernels.lambda_min_Hz_bound(b.gamma_bar, ctx.m)
        return max(threshold_sharp(ctx.q, delta, beta, b.X_norm_sq_upper), 0.5 * ctx.S * kappa0(ctx))

    def check(self, ctx):
        """lambda_min(G0) with its rigorous enclosure (``bounds.e29``): exactly 0 by rank when m > S;
        else LAPACK on the m x m G0, or above ``q.dense_limit`` Lanczos on v -> F0^T (F0 v) with the
        enclosure [0, a rigorous Rayleigh bound] (never ``certified``: the iterative lower end is
        not proved). In ``details`` the bar's ingredients (gamma_bar, beta_z, kappa_0) and, as
        diagnostics only, the data's lambda_min(H^z(X)), lambda_min(H^w(X)) (with their residuals
        when iterative; not computed above ``q.dense_limit``, ``limit_kernels`` says why), the
        enclosure of lambda_min(H0) and the concentration ratios lambda_min(G0) / (S lambda_min(H^z))
        and lambda_min(H0) / (E[zeta^2] S lambda_min(H^w)), E[zeta^2] estimated by mean(z0^2)."""
        q, b = ctx.q, ctx.q.bounds
        lg, lh = q.lambda_min_G0, q.lambda_min_H0
        ez2 = float(np.mean(q.z0 ** 2))
        lz, lw = q.lambda_min_Hz, q.lambda_min_Hw
        expect_g = None if lz is None else ctx.S * lz
        expect_h = None if lw is None else ez2 * ctx.S * lw
        enc = b.e29.enclosure()
        hb = b.H0
        details = {
            "gamma_bar": b.gamma_bar, "beta_z": kernels.lambda_min_Hz_bound(b.gamma_bar, ctx.m),
            "kappa0": kappa0(ctx), "G0_error": b.G0_error,
            "lambda_min_H0_lower": hb.lower, "lambda_min_H0_upper": hb.upper,
            "lambda_min_Hz": lz, "S_lambda_min_Hz": expect_g,
            "concentration_ratio_G": lg / expect_g if expect_g is not None and expect_g > 0 else None,
            "lambda_min_H0": lh, "lambda_min_Hw": lw, "E_zeta2": ez2,
            "E_zeta2_S_lambda_min_Hw": expect_h,
            "concentration_ratio_H": lh / expect_h if expect_h is not None and expect_h > 0 else None}
        details.update(limit_kernel_details(q))
        if q.m > q.S:
            how = "exact: 0 by rank (G0 = F0^T F0, rank <= S < m)"
        elif q.matrix_free:
            how = (f"Lanczos on v -> F0^T (F0 v) (m = {q.m} > dense_limit {q.dense_limit}, no m x m array); "
                   "not certified: the iterative lower end is not proved")
            details["lambda_min_G0_residual"] = q.G0_extreme.residual
        else:
            how = "exact: eigvalsh(G0)"
        return self.result(ctx, enclosure=enc, method=how + "; enclosure " + enc.method, details=details)


def limit_kernel_details(q: Quantities) -> dict:
    """How the diagnostics lambda_min(H^w(X)), lambda_min(H^z(X)) were computed: the residual of an
    iterative value (``kernels.lambda_min_limit``: the value is an upper bound, some eigenvalue lies
    within the residual), or, above ``q.dense_limit``, why they were not."""
    if q.matrix_free:
        return {"limit_kernels": f"not computed: m = {q.m} > dense_limit {q.dense_limit} (H^w, H^z have "
                                 "no cheap product with a vector)"}
    out = {}
    for key, ext in (("lambda_min_Hw_residual", q.Hw_extreme), ("lambda_min_Hz_residual", q.Hz_extreme)):
        if ext.residual is not None:
            out[key] = ext.residual
    return out


CHECKER = NTKSecondLayer()
