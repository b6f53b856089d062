"""(22)-(30), their enclosures and the kernel diagnostics above ``dense_limit`` (issue 15): nothing
m x m is formed, the statistics match the dense path, a non-rigorous lower end never certifies,
and verify threads the limit through to GD and records its phases and peak memory. The matrix-free
path is forced on small draws by lowering ``dense_limit``, never by big sizes."""

import json

import numpy as np
import pytest

from qrcheck import certificate as C
from qrcheck import diagnostics, enclosures, kernels, model, spectral
from qrcheck.draw import make_draw
from qrcheck.profiles import load_profile
from qrcheck.properties import CheckContext, registry
from qrcheck.properties import p30
from qrcheck.properties.p24 import Gamma0
from qrcheck.quantities import Quantities
from qrcheck.results import Status
from qrcheck.search import Effort, RestrictedNTK
from qrcheck.verify import VerifyConfig, verify

LIMIT = 10   # below every m here: the matrix-free path
# (n, S, m): (29) by Lanczos (m <= S), (30) applicable (m <= n S^1/2 / L), (29) by rank (m > S)
SIZES = [(8, 40, 30), (20, 100, 24), (8, 20, 30)]
# the documented tolerance of the matrix-free statistics against the dense ones (docs/properties.md)
RTOL = 1e-9
EFFORT = Effort(subset_samples=4, restarts=2, iterations=3)   # (30)'s search, kept small


def _results(draw, dense_limit, effort=EFFORT):
    ctx = CheckContext(Quantities.of(draw, dense_limit=dense_limit), load_profile("paper"), effort, seed=draw.seed)
    res = {c.eq: c.check(ctx) for c in registry() if int(c.eq) >= 22}
    return ctx, res, diagnostics.kernel_diagnostics(ctx.q, 1e-3, 1e-3, 1e-3)


@pytest.fixture(scope="module", params=SIZES, ids=lambda s: "n%d-S%d-m%d" % s)
def both(request):
    n, S, m = request.param
    d = make_draw(n=n, S=S, m=m, seed=3)
    return d, _results(d, spectral.DENSE_M_LIMIT), _results(d, LIMIT)


def test_statistics_and_statuses_match_the_dense_path(both):
    d, (_, dense, ddiag), (ctx, free, fdiag) = both
    assert ctx.q.matrix_free
    for eq in [str(k) for k in range(22, 30)]:
        a, b = dense[eq], free[eq]
        assert a.statistic == pytest.approx(b.statistic, rel=RTOL, abs=1e-12), eq
        # a non-rigorous lower end never gives `certified`: certified becomes passed, nothing else moves
        want = Status.PASSED if (eq == "29" and a.status is Status.CERTIFIED and d.m <= d.S) else a.status
        assert b.status is want, eq
        if b.lower is not None:   # still a rigorous enclosure of the same value
            assert b.lower <= a.upper and a.lower <= b.upper, eq
    assert fdiag["H0"]["lambda_min"] == pytest.approx(ddiag["H0"]["lambda_min"], rel=1e-7)
    assert fdiag["H0"]["lambda_max"] == pytest.approx(ddiag["H0"]["lambda_max"], rel=1e-7)
    assert fdiag["G0"]["lambda_min"] == pytest.approx(ddiag["G0"]["lambda_min"], rel=1e-7, abs=1e-12)
    assert fdiag["X"]["lambda_min_Hw"] is None and "not computed" in fdiag["X"]["limit_kernels"]
    assert ddiag["X"]["lambda_min_Hw"] is not None


def test_29_matrix_free_is_never_certified_and_its_upper_end_is_rigorous(both):
    d, (_, dense, _), (ctx, free, _) = both
    a, b = dense["29"], free["29"]
    if d.m > d.S:   # rank: exactly 0 on both paths
        assert b.lower == b.upper == 0.0 and "rank" in b.method
        return
    assert b.lower == 0.0 and b.status is not Status.CERTIFIED and "not certified" in b.method
    assert a.statistic <= b.upper * (1 + 1e-12)        # the Rayleigh bound of the Lanczos vector
    assert b.details["lambda_min_H0_lower"] == 0.0
    assert b.details["lambda_min_H0_upper"] >= a.details["lambda_min_H0_lower"]
    assert b.details["lambda_min_Hw"] is None and "limit_kernels" in b.details


def test_30_matrix_free_witness_is_a_real_removal(both):
    d, (_, dense, _), (ctx, free, _) = both
    a, b = dense["30"], free["30"]
    assert a.status.value == b.status.value or (a.status is Status.CERTIFIED and b.status is Status.PASSED)
    if b.statistic is None:
        return
    # the search's bottom eigenpairs are iterative, so it may find another removal; its value is
    # that witness's true value, and no removal goes below the dense path's proved lower end
    true = p30.witness_value(d.X, d.W0, Gamma0(ctx), b.witness)
    assert b.statistic == pytest.approx(true, rel=1e-6)
    assert b.statistic >= a.lower
    assert b.lower <= 0.0 and b.status is not Status.CERTIFIED


def test_rayleigh_bounds_are_upper_bounds():
    d = make_draw(n=8, S=40, m=30, seed=1)
    q = Quantities.of(d)
    rng = np.random.default_rng(0)
    H = model.khatri_rao_gram(q.A0.astype(float) * (q.z0[:, None] ** 2), q.X)
    G = model.G_matrix(q.F0)
    for _ in range(5):
        v = rng.standard_normal(q.m)
        rq_H, rq_G = v @ H @ v / (v @ v), v @ G @ v / (v @ v)
        up_H = enclosures.khatri_rao_rayleigh_upper(q.A0.astype(float), q.X, v, q.z0)
        up_G = enclosures.gram_rayleigh_upper(q.F0, q.P0_product.bound, v)
        assert rq_H <= up_H <= rq_H * (1 + 1e-10) and rq_G <= up_G <= rq_G * (1 + 1e-10)


def _refuse(*args, **kwargs):
    raise AssertionError("an m x m array was formed on the matrix-free path")


def test_nothing_m_by_m_is_formed_above_the_limit(monkeypatch):
    d = make_draw(n=20, S=100, m=24, seed=3)   # (29) by Lanczos, (30) applicable
    for mod, name in [(model, "khatri_rao_gram"), (model, "G_matrix"), (kernels, "f_w"), (kernels, "f_z"),
                      (kernels, "H_w"), (kernels, "H_z"), (enclosures, "lambda_min_enclosure"),
                      (spectral, "lambda_min_dense"), (spectral, "lambda_max_dense")]:
        monkeypatch.setattr(mod, name, _refuse)
    monkeypatch.setattr(Quantities, "gram", property(_refuse))
    monkeypatch.setattr(RestrictedNTK, "dense_matrix", _refuse)
    # a time budget stops (30)'s S* bisection early: what is formed, not what is found, is tested here
    ctx, res, diag = _results(d, LIMIT, Effort(subset_samples=4, restarts=2, iterations=3, time_budget=1.0))
    assert res["30"].status is not Status.NOT_APPLICABLE and res["29"].statistic > 0
    assert diag["H0"]["lambda_max"] > 0
    for name in ("G0", "K0", "H0"):   # the cached m x m matrices refuse with one clear error
        with pytest.raises(RuntimeError, match="m x m"):
            getattr(ctx.q, name)


def test_limit_kernel_diagnostic_states_its_accuracy():
    d = make_draw(n=20, S=10, m=1100, seed=0)   # just above EIGVALSH_M_MAX: the iterative path
    q = Quantities.of(d)
    ext = q.Hw_extreme
    exact = float(np.linalg.eigvalsh(kernels.H_w(d.X))[0])
    assert ext.method == "shift_invert" and ext.residual is not None
    assert ext.value - ext.residual <= exact <= ext.value * (1 + 1e-12)
    # the eigenvalue's error is about residual^2 / gap, far inside the stated residual
    assert abs(ext.value - exact) <= 0.1 * ext.residual


def test_verify_threads_the_limit_and_records_phases_and_peak_memory():
    cfg = VerifyConfig(n=8, S=40, m=30, seed=2, max_steps=3000, require="none")
    dense, free = verify(cfg), verify(cfg, dense_limit=LIMIT)
    a, b = dense.certificate.to_json(), free.certificate.to_json()
    assert C.schema_issues(json.loads(C.dumps(free.certificate))) == []
    assert a["gd"]["T"] == b["gd"]["T"] and a["gd"]["D"] == b["gd"]["D"]
    assert b["gd"]["kappa_H"] == pytest.approx(a["gd"]["kappa_H"], rel=1e-6)
    prov = b["provenance"]
    phases = prov["phase_seconds"]
    assert {"draw", "properties", "diagnostics", "gd", "total"} <= set(phases)
    assert set(phases["properties"]) == {str(k) for k in range(19, 31)}
    assert prov["peak_rss_bytes_checks"] > 0 and prov["peak_rss_bytes"] >= prov["peak_rss_bytes_checks"]
