"""The nine directly computable properties against independent brute-force computations, the
registry, thresholds and statuses (issue 2).

Cases come from one generator, ``exact_cases``: every registered checker whose module declares it
exact is paired with every test draw; ids are the property name plus the draw's parameters.
"""

import math
from types import SimpleNamespace

import numpy as np
import pytest

from qrcheck import properties
from qrcheck.draw import make_draw
from qrcheck.profiles import PAPER, Rule, load_profile
from qrcheck.properties import CheckContext, RegistryError, registry
from qrcheck.results import Status

DRAWS = [dict(n=6, S=9, m=7, seed=1), dict(n=12, S=40, m=15, seed=2, z_dist="gaussian"),
         dict(n=20, S=30, m=25, seed=3)]


def relu(x):
    return x if x > 0 else 0.0


def brute(eq, d):
    """Independent computation of each exact CONTRACT statistic with explicit loops."""
    X, W0, z0 = d.X, d.W0, d.z0
    n, m = X.shape
    S = W0.shape[0]
    P = [[sum(W0[nu, i] * X[i, j] for i in range(n)) for j in range(m)] for nu in range(S)]
    if eq == "19":
        return max(abs(sum(X[i, j] * X[i, k] for i in range(n))) for j in range(m) for k in range(m) if j != k)
    if eq == "22":
        return min(math.sqrt(sum(W0[nu, i] ** 2 for i in range(n))) for nu in range(S))
    if eq == "23":
        return max(max(abs(v) for v in W0.ravel()), max(abs(v) for v in z0))
    if eq == "24":  # schema 2: zeta_0 = the paper profile's explicit 1/L
        zeta0 = 1.0 / math.log(n * S)
        return sum(1 for v in z0 if abs(v) >= zeta0)
    if eq == "25":
        return min(abs(P[nu][j]) for nu in range(S) for j in range(m))
    if eq == "26":
        return max(abs(P[nu][j]) for nu in range(S) for j in range(m))
    if eq == "27":
        return max(abs(sum(z0[nu] * relu(P[nu][j]) for nu in range(S))) for j in range(m))
    if eq == "28":  # every R that matters is one of the |P| values of the column
        best = 0.0
        for j in range(m):
            col = [abs(P[nu][j]) for nu in range(S)]
            for R in col:
                best = max(best, sum(1 for v in col if v <= R) / (S * R + 1))
        return best
    if eq == "29":  # lambda_min(F^T F) = sigma_min(F)^2 via the SVD (S >= m in these draws)
        F = np.array([[relu(P[nu][j]) for j in range(m)] for nu in range(S)])
        return float(np.linalg.svd(F, compute_uv=False)[-1] ** 2)
    raise KeyError(eq)


EXACT = {"19", "22", "23", "24", "25", "26", "27", "28", "29"}


def exact_cases():
    for checker in registry():
        if checker.eq in EXACT:
            for kw in DRAWS:
                yield pytest.param(checker, kw, id=f"{checker.name}-" + "-".join(f"{k}{v}" for k, v in kw.items()))


@pytest.mark.parametrize("checker, kw", list(exact_cases()))
def test_exact_statistic_matches_brute_force(checker, kw):
    d = make_draw(**kw)
    r = checker.check(CheckContext.of(d, PAPER))
    truth = brute(checker.eq, d)
    assert r.statistic == pytest.approx(truth, rel=1e-9, abs=1e-12)
    assert r.status in (Status.CERTIFIED, Status.VIOLATED, Status.VACUOUS)
    # schema 2: the rigorous enclosure contains the statistic, and the independent value up to
    # the independent computation's own rounding
    assert r.lower <= r.statistic <= r.upper
    assert r.lower - 1e-12 * abs(truth) <= truth <= r.upper + 1e-12 * abs(truth)
    if r.g:
        assert r.empirical_constant == pytest.approx(r.statistic / r.g)


def test_registry_has_all_twelve_sorted():
    eqs = [c.eq for c in registry()]
    assert eqs[:12] == [str(k) for k in range(19, 31)]
    assert len(set(c.name for c in registry())) == len(registry())
    for c in registry():
        assert c.statement and c.statistic and c.sense and c.check.__doc__


def fake_ep(name, obj):
    return SimpleNamespace(name=name, value=f"fake:{name}", load=lambda: obj)


class Extra(properties.Checker):
    eq = "31"
    name = "extra"
    statement = "a third-party property"
    statistic = "zero"
    sense = properties.Sense.LE

    def check(self, ctx):
        return self.result(ctx, statistic=0.0, method="exact", threshold=1.0)


def test_entry_point_plugins_load_sorted_and_duplicates_rejected(monkeypatch):
    monkeypatch.setattr(properties, "entry_points", lambda group: [fake_ep("extra", Extra)])
    registry.cache_clear()
    try:
        assert [c.eq for c in registry()][-1] == "31"
        dup = type("Dup", (Extra,), {"eq": "19", "name": "dup"})
        monkeypatch.setattr(properties, "entry_points", lambda group: [fake_ep("dup", dup)])
        registry.cache_clear()
        with pytest.raises(RegistryError, match="duplicate property checker '19'"):
            registry()
        monkeypatch.setattr(properties, "entry_points", lambda group: [fake_ep("bad", object())])
        registry.cache_clear()
        with pytest.raises(RegistryError, match="not a qrcheck Checker"):
            registry()
    finally:
        registry.cache_clear()


def test_paper_thresholds_are_explicit():
    d = make_draw(n=100, S=500, m=300)
    ctx = CheckContext.of(d, PAPER)
    L = math.log(100 * 500)
    res = {c.eq: c.check(ctx) for c in registry()}
    assert res["19"].threshold == pytest.approx(2 * L / 10)           # proof of (19): 2 L n^{-1/2}
    assert res["22"].threshold == pytest.approx(math.sqrt(100 / 2))   # ||row||^2 >= n/2
    assert res["24"].threshold == pytest.approx(500 / L)
    assert res["27"].threshold == pytest.approx(L * math.sqrt(500))
    assert res["21"].details["n_star"] == math.ceil(100 * math.log(100) ** 2)
    # (19) can never exceed 1, and 2L/sqrt(n) > 1 here: flagged vacuous, never certified
    assert res["19"].status is Status.VACUOUS
    assert res["21"].status is Status.VACUOUS                          # n* > m: empty family
    assert res["30"].status is Status.NOT_APPLICABLE                   # m > n S^{1/2} / L
    assert res["24"].details["zeta0"] == pytest.approx(1 / L) and res["24"].statistic == 500  # Rademacher: Gamma_0 = [S]


def test_custom_profile_makes_19_bind_and_witness_recomputes(tmp_path):
    f = tmp_path / "p.toml"
    f.write_text('name = "tight"\n[threshold."19"]\nC = 0.01\np = 0\n')
    prof = load_profile(str(f))
    assert prof.rule("19") == Rule(0.01, 0.0) and prof.rule("22") == PAPER.rule("22")
    d = make_draw(n=10, S=20, m=30, seed=5)
    r = registry()[0].check(CheckContext.of(d, prof))
    j, k = r.witness["pair"]
    assert r.status is Status.VIOLATED
    assert abs(d.X[:, j] @ d.X[:, k]) == pytest.approx(r.statistic)
    assert r.threshold == pytest.approx(0.01 / math.sqrt(10))


@pytest.mark.parametrize("text, match", [
    ("[threshold.\"99\"]\nC = 1\n", "names no property"),
    ("bogus = 1\n", "unknown key"),
    ("[n_star]\nC = \"x\"\n", "finite number"),
    ("this is not toml", "cannot parse"),
])
def test_bad_profiles(tmp_path, text, match):
    f = tmp_path / "p.toml"
    f.write_text(text)
    with pytest.raises(Exception, match=match):
        load_profile(str(f))


@pytest.mark.parametrize("large, status", [(120, Status.CERTIFIED), (30, Status.VIOLATED)])
def test_24_applies_the_threshold_it_shows(large, status):
    """Issue 10 item 3: 120 of 400 entries +-1, the rest 1e-4: |{|z0| >= 1/L}| = 120 >= S/L = 37.7
    is certified (schema 1 said violated, enforcing S/2); 30 < 37.7 is violated."""
    d = make_draw(n=100, S=400, m=5, seed=1, z_dist="gaussian")
    rng = np.random.default_rng(0)
    z0 = np.where(np.arange(400) < large, rng.choice([-1.0, 1.0], 400), 1e-4)
    d2 = type(d)(X=d.X, W0=d.W0, z0=z0, y=d.y)
    ctx = CheckContext.of(d2, PAPER)
    r = properties.get("24").check(ctx)
    L = math.log(100 * 400)
    assert r.statistic == large and r.threshold == pytest.approx(400 / L) and r.status is status
    assert r.details["zeta0"] == pytest.approx(1 / L)
    from qrcheck.properties import p24
    assert p24.Gamma0(ctx).size == large  # the Gamma_0 (30) uses


# ---- issue 9: witness recomputation, Profile as data, the check context -------------------------
WITNESS_ARGS = {"19": ("X",), "20": ("X",), "21": ("X",), "22": ("W0",), "23": ("W0", "z0"),
                "25": ("W0", "X"), "26": ("W0", "X"), "27": ("W0", "X", "z0"), "28": ("W0", "X")}


@pytest.mark.parametrize("profile", ["paper", "sharp"])
def test_every_witness_recomputes_from_the_arrays_alone(profile):
    from qrcheck.properties import p24, p30

    d = make_draw(n=6, S=40, m=6, seed=7)  # (30) applies with S* > 0 under paper
    ctx = CheckContext.of(d, load_profile(profile))
    arrays = {"X": d.X, "W0": d.W0, "z0": d.z0}
    seen = set()
    for c in registry():
        r = c.check(ctx)
        if r.witness is None or r.statistic is None:
            continue
        mod = __import__(f"qrcheck.properties.p{c.eq}", fromlist=["witness_value"])
        if c.eq == "30":
            v = p30.witness_value(d.X, d.W0, p24.Gamma0(ctx), r.witness)
        else:
            v = mod.witness_value(*(arrays[a] for a in WITNESS_ARGS[c.eq]), r.witness)
        assert v == pytest.approx(r.statistic, rel=1e-9, abs=1e-9), c.eq
        seen.add(c.eq)
    assert seen >= {"19", "20", "22", "23", "25", "26", "27", "28"}


def test_profiles_are_data_and_round_trip_through_json():
    import json

    from qrcheck.profiles import SHARP, Profile, TailCount, TailRule

    for prof in (PAPER, SHARP):
        d = json.loads(json.dumps(prof.to_json()))
        assert Profile.from_json(d) == prof and Profile.from_json(d).to_json() == d
    assert SHARP.rule("19") == TailRule("19", SHARP.rule("19").formula)
    assert isinstance(SHARP.n_star, TailCount) and SHARP.n_star.eq == "21" and SHARP.S_star.eq == "30"
    for rule in [*SHARP.threshold.values(), SHARP.n_star, SHARP.S_star]:  # no callables anywhere
        assert not any(callable(v) for v in vars(rule).values()), rule


def test_tail_rules_have_one_return_type_each():
    from qrcheck.profiles import SHARP
    from qrcheck.properties import p21, p30

    ctx = CheckContext.of(make_draw(n=10, S=900, m=40, seed=0), SHARP)
    for c in registry():
        r = SHARP.threshold.get(c.eq)
        if r is not None and not isinstance(r, Rule):
            assert type(c.tail_threshold(ctx, 1e-4)) is float, c.eq
    assert type(p21.n_star(ctx)) is int and type(p30.S_star(ctx)) is int
    with pytest.raises(Exception, match="no tail-bound"):
        registry()[6].tail_threshold(ctx, 1e-3)  # (25) has none


def test_check_context_is_thin_and_quantities_are_pure():
    from qrcheck.quantities import Quantities
    from qrcheck.search import Effort

    d = make_draw(n=8, S=30, m=12, seed=3)
    q = Quantities.of(d)
    assert not any(hasattr(q, a) for a in ("profile", "effort", "Gamma0", "zeta0", "threshold"))
    a = CheckContext(q, PAPER, Effort(), seed=d.seed)
    b = CheckContext.of(d, PAPER)
    assert [c.check(a).to_json() for c in registry()] == [c.check(b).to_json() for c in registry()]
    assert a.memo("k", lambda: [1]) is a.memo("k", lambda: [2])
