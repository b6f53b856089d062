"""The ``sharp`` profile (issue 3): each tail bound against an independent computation (quadrature,
incomplete gamma, explicit binomial sums, Monte Carlo at a large delta), the TailRule mechanism and
TOML, and the planted defects it must catch, each with a witness that recomputes.
"""

import json
import math

import numpy as np
import pytest
import scipy.integrate
import scipy.special
from typer.testing import CliRunner

from qrcheck import InputError, planted, probability
from qrcheck.cli import app
from qrcheck.draw import make_draw
from qrcheck.profiles import SHARP, Rule, TailRule, load_profile
from qrcheck.properties import CheckContext, get, p20, p21, p24, p27, p28, registry
from qrcheck.results import Status

runner = CliRunner()


def ctx_of(n, S, m, seed=0, profile=SHARP, **kw):
    return CheckContext.of(make_draw(n=n, S=S, m=m, seed=seed, **kw), profile)


def mc_rate_upper(hits, N):
    """A generous upper confidence level for a Monte-Carlo frequency (mean + 4 sd + 1/N)."""
    p = hits / N
    return p + 4 * math.sqrt(max(p * (1 - p), 1.0 / N) / N) + 1.0 / N


# ---- each tail against an independent computation ---------------------------------------------
def test_19_threshold_solves_the_exact_union_bound():
    ctx = ctx_of(12, 5, 30)
    t = get("19").tail_threshold(ctx, 1e-3)
    n = 12
    dens = lambda s: (math.gamma(n / 2) / (math.sqrt(math.pi) * math.gamma((n - 1) / 2))  # noqa: E731
                      * (1 - s * s) ** ((n - 3) / 2))
    tail = 2 * scipy.integrate.quad(dens, t, 1.0, epsabs=1e-14)[0]
    assert 30 * 29 / 2 * tail == pytest.approx(1e-3, rel=1e-6)


def test_inner_product_and_slab_laws_match_simulation():
    rng = np.random.default_rng(1)
    n, N = 7, 200_000
    x = rng.standard_normal((N, n))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    g = x[:, 0]  # <x, e_1>
    for t in (0.2, 0.5):
        assert np.mean(np.abs(g) >= t) == pytest.approx(probability.inner_product_tail(n, t), abs=0.005)
        assert np.mean(np.abs(g) < t) == pytest.approx(probability.slab_probability(n, t), abs=0.005)
    norms = np.linalg.norm(rng.standard_normal((N, n)), axis=1)
    assert norms.mean() == pytest.approx(probability.chi_mean(n), rel=0.003)


def test_22_23_26_thresholds_solve_their_union_bounds():
    n, S, m, d = 9, 40, 25, 1e-3
    ctx = ctx_of(n, S, m)
    q = get("22").tail_threshold(ctx, d) ** 2
    assert S * scipy.special.gammainc(n / 2, q / 2) == pytest.approx(d, rel=1e-8)  # chi^2_n cdf
    t23, t26 = get("23").tail_threshold(ctx, d), get("26").tail_threshold(ctx, d)
    assert 2 * (S * n + S) * 0.5 * math.erfc(t23 / math.sqrt(2)) == pytest.approx(d, rel=1e-8)
    assert 2 * S * m * 0.5 * math.erfc(t26 / math.sqrt(2)) == pytest.approx(d, rel=1e-8)


def test_27_mixture_law_matches_simulation():
    rng = np.random.default_rng(2)
    S, N = 6, 400_000
    V = (np.maximum(rng.standard_normal((N, S)), 0) ** 2).sum(axis=1)
    for u in (2.0, 6.0, 12.0):
        assert np.mean(V > u) == pytest.approx(p27.relu_square_sum_sf(S, u), abs=0.003)


def test_28_union_bound_against_explicit_binomial_sums():
    S, m, tau = 12, 3, 2.5
    total = 0.0
    for k in range(3, S + 1):  # k > tau
        R = (k / tau - 1) / S
        p = math.erf(R / math.sqrt(2))
        total += sum(math.comb(S, i) * p ** i * (1 - p) ** (S - i) for i in range(k, S + 1))
    assert p28.failure(S, m, tau) == pytest.approx(m * total, rel=1e-10)
    ctx = ctx_of(5, S, m)
    t = get("28").tail_threshold(ctx, 1e-3)
    assert p28.failure(S, m, t) <= 1e-3 < p28.failure(S, m, t * (1 - 1e-6))


def test_tail_thresholds_hold_empirically_at_a_large_delta():
    """Monte Carlo of the exact statistics of (19), (22), (23), (26), (27), (28) over 600 draws at
    delta = 0.2: each failure frequency is within its tail bound."""
    n, S, m, d, N = 6, 15, 8, 0.2, 600
    ctx = ctx_of(n, S, m)
    thr = {"19": get("19").tail_threshold(ctx, d), "22": get("22").tail_threshold(ctx, d), "23": get("23").tail_threshold(ctx, d),
           "26": get("26").tail_threshold(ctx, d), "27": get("27").tail_threshold(ctx, d), "28": get("28").tail_threshold(ctx, d)}
    fails = dict.fromkeys(thr, 0)
    rng = np.random.default_rng(3)
    for _ in range(N):
        X = rng.standard_normal((n, m))
        X /= np.linalg.norm(X, axis=0)
        W0, z0 = rng.standard_normal((S, n)), rng.choice([-1.0, 1.0], size=S)
        G = np.abs(X.T @ X - np.eye(m))
        P = W0 @ X
        a = np.sort(np.abs(P), axis=0)
        stat = {"19": G.max(), "22": np.linalg.norm(W0, axis=1).min(),
                "23": max(np.abs(W0).max(), 1.0), "26": np.abs(P).max(),
                "27": np.abs(np.maximum(P, 0).T @ z0).max(),
                "28": (np.arange(1, S + 1)[:, None] / (S * a + 1)).max()}
        for e in thr:
            fails[e] += (stat[e] < thr[e]) if e == "22" else (stat[e] > thr[e])
    for e in thr:
        assert fails[e] / N <= d, e


def test_20_concentration_bound_holds_for_one_subset_by_simulation():
    rng = np.random.default_rng(4)
    n, k, N = 10, 5, 20_000
    t = math.sqrt(2 * math.log(1 / 0.05) / (n - 2))  # exp(-(n-2) t^2 / 2) = 0.05
    b = (math.sqrt(n) + math.sqrt(k)) / probability.chi_mean(n) + t
    assert p20.norm_tail(n, k, k, 0.05) == pytest.approx(b)  # m = k: a single subset
    G = rng.standard_normal((N, n, k))
    G /= np.linalg.norm(G, axis=1, keepdims=True)
    norms = np.linalg.norm(G, ord=2, axis=(1, 2))
    assert np.mean(norms > b) <= mc_rate_upper(0, N) + 0.05


def test_chernoff_lower_solves_its_equation():
    mu, R, dim, d = 500.0, 4.0, 30, 1e-3
    v = probability.chernoff_lower(mu, R, dim, d)
    eps = 1 - v / mu
    assert dim * math.exp(-(mu / R) * (eps + (1 - eps) * math.log(1 - eps))) == pytest.approx(d, rel=1e-8)
    assert probability.chernoff_lower(10.0, 4.0, dim, d) == 0.0  # mu/R < ln(d/delta): no bound


def test_n_star_21_is_monotone_and_meaningful_where_m_is_large():
    assert p21.n_star_sharp(10, 400, 1e-3) <= 400 and p21.n_star_sharp(50, 200, 1e-3) == 201  # none <= m
    assert p21.n_star_sharp(10, 400, 1e-2) <= p21.n_star_sharp(10, 400, 1e-3) <= p21.n_star_sharp(10, 400, 1e-6)
    assert p21.n_star_sharp(10, 400, 1e-3) >= 10


# ---- the TailRule mechanism -----------------------------------------------------------------
def test_tail_rules_keep_threshold_equal_C_L_p_g_and_record_their_formula():
    ctx = ctx_of(10, 200, 40)
    for c in registry():
        r = c.check(ctx)
        if r.threshold is not None and r.C is not None and r.g:
            assert r.threshold == pytest.approx(r.C * ctx.L ** r.p * r.g, rel=1e-12)
    d = SHARP.to_dict()
    json.dumps(d)
    assert "tail" in d["threshold"]["19"] and d["threshold"]["21"] == {"C": 1.0, "p": 0.0} and d["delta"] == 1e-3
    assert isinstance(SHARP.rule("19"), TailRule) and isinstance(SHARP.rule("24"), Rule)


def test_toml_based_on_sharp_changes_delta_and_overrides(tmp_path):
    f = tmp_path / "strict.toml"
    f.write_text('base = "sharp"\ndelta = 1e-6\n[threshold."26"]\nC = 3.0\n')
    prof = load_profile(str(f))
    ctx_a, ctx_b = ctx_of(10, 50, 30), CheckContext.of(make_draw(n=10, S=50, m=30, seed=0), prof)
    assert ctx_b.threshold("19", 10 ** -0.5)[0] > ctx_a.threshold("19", 10 ** -0.5)[0]
    assert ctx_b.threshold("26", 1.0) == (3.0, 3.0, 0.0)
    bad = tmp_path / "bad.toml"
    bad.write_text('base = "sharp"\n[threshold."19"]\np = 1\n')
    with pytest.raises(InputError, match="must give C"):
        load_profile(str(bad))
    bad.write_text('base = "sharp"\ndelta = 2\n')
    with pytest.raises(InputError, match="delta"):
        load_profile(str(bad))


# ---- planted defects ------------------------------------------------------------------------
def test_planted_cluster_violates_20_and_19_under_sharp_via_the_cli(tmp_path):
    d = make_draw(n=50, S=20, m=200, seed=1)
    pl = planted.with_cluster(d, 30, rng=np.random.default_rng(1))
    np.save(tmp_path / "X.npy", pl.draw.X)
    res = runner.invoke(app, ["verify", "--X", str(tmp_path / "X.npy"), "--S", "20", "--profile", "sharp",
                              "--no-gd", "--out", str(tmp_path / "c.json")])
    assert res.exit_code == 1, res.output
    p = json.loads((tmp_path / "c.json").read_text())["properties"]
    assert p["20"]["status"] == "violated" and p["19"]["status"] == "violated"
    X, J, k = pl.draw.X, p["20"]["witness"]["J"], p["20"]["witness"]["k"]
    witness = np.linalg.norm(X[:, J], 2) / (1 + math.sqrt(k / 50))
    cluster = np.linalg.norm(X[:, list(pl.J)], 2) / (1 + math.sqrt(30 / 50))
    assert witness == pytest.approx(p["20"]["statistic"], rel=1e-12)
    assert witness >= 0.95 * cluster and witness > p["20"]["threshold"]
    assert set(p["19"]["witness"]["pair"]) <= set(pl.J)


def test_planted_slab_violates_21_under_sharp():
    pl = planted.with_slab(make_draw(n=10, S=20, m=400, seed=3), 120, rng=np.random.default_rng(3))
    assert pl.draw.sources["X"] == "derived" and pl.draw.sources.get("W0", "sampled") == "sampled"
    ctx = CheckContext.of(pl.draw, SHARP)
    r = get("21").check(ctx)
    assert r.status is Status.VIOLATED and r.details["n_star"] <= 120
    J, xi = r.witness["J"], np.array(r.witness["xi"])
    assert len(J) == r.details["n_star"]
    assert np.linalg.norm(pl.draw.X[:, J].T @ xi) == pytest.approx(r.statistic, rel=1e-9)
    assert r.statistic < r.threshold
    random = get("21").check(CheckContext.of(make_draw(n=10, S=20, m=400, seed=3), SHARP))
    assert random.status is not Status.VIOLATED


# schema 2: sharp's (30) bar is proved from (19) (beta_w, not the data's lambda_min(H^w)); at n = 20
# it is the floor and S* = 0, so only the paper profile detects this starved point (docs/properties.md)
@pytest.mark.parametrize("profile", ["paper"])
def test_starved_point_violates_30_and_the_removal_recomputes(profile):
    d = make_draw(n=20, S=900, m=40, seed=2)
    pl = planted.with_starved_point(d, j=5, active=3, rng=np.random.default_rng(2))
    assert int(((pl.draw.W0 @ pl.draw.X[:, 5]) > 0).sum()) == 3
    ctx = CheckContext.of(pl.draw, load_profile(profile))
    r = get("30").check(ctx)
    assert r.status is Status.VIOLATED and r.details["S_star"] >= 3
    removed = r.witness["removed"]
    assert len(removed) == r.details["S_star"] and set(pl.neurons) <= set(removed)
    keep = np.setdiff1d(p24.Gamma0(ctx), removed)
    A = (pl.draw.W0[keep] @ pl.draw.X > 0).astype(float)
    H = (pl.draw.X.T @ pl.draw.X) * (A.T @ A)  # (7), computed here from scratch
    assert np.linalg.eigvalsh(H)[0] == pytest.approx(r.statistic, abs=1e-9 * np.linalg.norm(H, 2))
    assert r.statistic < r.threshold


def test_starved_point_with_squeeze_violates_28_at_that_point():
    d = make_draw(n=20, S=900, m=40, seed=2)
    pl = planted.with_starved_point(d, j=5, active=3, squeeze=1e-3, rng=np.random.default_rng(2))
    r = get("28").check(CheckContext.of(pl.draw, SHARP))
    assert r.status is Status.VIOLATED and r.witness["j"] == 5
    assert get("28").check(CheckContext.of(d, SHARP)).status is Status.CERTIFIED


def test_random_draws_violate_nothing_under_sharp():
    """A smoke version of benchmarks/calibrate_sharp.py (docs/sharp.md has the 200-draw table)."""
    for seed in range(6):
        ctx = ctx_of(10, 200, 40, seed=seed)
        assert all(c.check(ctx).status is not Status.VIOLATED for c in registry())
