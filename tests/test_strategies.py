"""qrcheck.strategies: draws and size strategies generate what they say, shrink to small readable
examples, and every planted defect is caught where DEFECTS says (its default sizes)."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, find, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import qrcheck  # noqa: E402
from qrcheck import strategies as qs  # noqa: E402
from qrcheck.regime import classify  # noqa: E402
from qrcheck.testing import assert_violated  # noqa: E402

FAST = settings(max_examples=15, derandomize=True, database=None, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@FAST
@given(qs.draws(n=st.integers(2, 8), S=7, m=st.integers(1, 5), z_dist=st.sampled_from(["rademacher", "gaussian"])))
def test_draws_have_the_sizes_and_unit_columns(d):
    assert 2 <= d.n <= 8 and d.S == 7 and 1 <= d.m <= 5
    assert d.X.shape == (d.n, d.m) and d.W0.shape == (7, d.n) and d.z0.shape == (7,) and d.y.shape == (d.m,)
    assert np.allclose(np.linalg.norm(d.X, axis=0), 1.0)
    assert not d.X.flags.writeable
    if d.z_dist == "rademacher":
        assert set(np.unique(d.z0)) <= {-1.0, 1.0}
    assert repr(d).startswith("Drawn(n=") and "\n" not in repr(d)


def test_draws_are_qrcheck_draws_of_their_seed():
    from qrcheck.draw import make_draw
    drawn = find(qs.draws(n=5, S=6, m=4, seed=st.integers(3, 9)), lambda d: True)
    ref = make_draw(n=5, S=6, m=4, seed=drawn.seed)
    for k in ("X", "W0", "z0", "y"):
        assert np.array_equal(getattr(drawn, k), getattr(ref, k))
    assert drawn.seed == 3  # shrinks to the smallest seed allowed
    assert qs.sample(5, 6, 4, seed=3) == drawn and qs.known_draw(ref.X, ref.W0, ref.z0) == drawn


def test_shrinking_gives_small_sizes_and_seed_zero():
    d = find(qs.draws(), lambda d: d.S >= 10 and d.m >= 3, settings=settings(database=None, derandomize=True))
    assert (d.n, d.S, d.m, d.seed) == (2, 10, 3, 0)
    assert repr(d) == "Drawn(n=2, S=10, m=3, seed=0)"


def test_bad_sizes_are_one_line_errors():
    with pytest.raises(qrcheck.InputError, match="n must be a positive int or a hypothesis strategy"):
        find(qs.draws(n=0), lambda d: True)
    with pytest.raises(qrcheck.InputError, match="unknown defect"):
        qs.plant("nope")
    with pytest.raises(qrcheck.InputError, match="size = 50 must be in"):
        qs.plant("cluster", m=10, size=50)


@FAST
@given(qs.overparametrized(c=10, n=st.integers(2, 5), m=st.integers(2, 9)))
def test_overparametrized_sizes(s):
    lo = math.ceil(10 * s.m * math.log(s.m))
    assert lo <= s.S <= 2 * lo


@pytest.mark.parametrize("case", ["16", "17", "18"])
def test_theorem_sizes_are_inside_the_case(case):
    @FAST
    @given(qs.theorem_sizes(case))
    def inner(s):
        c = classify(s.n, s.S, s.m, s.eta_w, s.eta_z)
        assert c.theorem_applies and case in c.applicable
    inner()


def test_paper_grid_cells_and_rates():
    cells = qs.paper_grid().elements
    assert len(cells) == 40 and cells[0][:3] == (100, 100, 100)
    by = {(c.S, c.m): c for c in cells}
    assert by[(1000, 400)].eta_w == 5e-4 and by[(500, 900)].eta_w == 5e-4 and by[(100, 100)].eta_w == 1e-3
    stated = {(c.S, c.m): c for c in qs.paper_grid(rule="stated").elements}
    assert stated[(1000, 400)].eta_w == 1e-3 and stated[(1000, 900)].eta_w == 2e-4
    assert len(qs.paper_grid(S=100, step="text").elements) == 91
    assert {(c.S, c.m) for c in qs.paper_grid(S=[100, 200], m_max=100).elements} == {(100, 100), (200, 100)}


# ---- planted defects: caught at their documented default sizes ------------------------------
CAUGHT = [("cluster", "sharp"), ("slab", "sharp"), ("short_rows", "paper"), ("short_rows", "sharp"),
          ("few_large_z0", "paper"), ("few_large_z0", "sharp"), ("near_orthogonal", "paper"),
          ("near_orthogonal", "sharp"), ("starved_point", "paper"), ("starved_point", "sharp")]


@pytest.mark.parametrize("defect,profile", CAUGHT)
def test_planted_defect_is_caught_where_documented(defect, profile):
    d = qs.plant(defect, seed=1)
    eq = qs.DEFECTS[defect].catches[0]
    assert_violated(qrcheck.check(**d.kwargs, profile=profile, properties=[eq]), eq)
    if profile == "sharp":  # calibrated: the same draw without the defect is not violated
        clean = qs.sample(d.n, d.S, d.m, seed=1)
        assert qrcheck.check(**clean.kwargs, profile=profile, properties=[eq])[eq].status is not qrcheck.Status.VIOLATED


def test_planted_witnesses_point_at_the_defect():
    d = qs.plant("cluster", seed=2)
    r = qrcheck.check(**d.kwargs, profile="sharp", properties=[19])
    assert set(r["19"].witness["pair"]) <= set(d.J)
    d = qs.plant("short_rows", seed=2)
    assert qrcheck.check(**d.kwargs, properties=[22])["22"].witness["nu"] in d.neurons
    d = qs.plant("near_orthogonal", seed=2)
    assert qrcheck.check(**d.kwargs, properties=[28])["28"].witness["j"] == 0


def test_planted_strategy_takes_strategies_and_reproduces_by_files():
    # (24) under paper needs count < S/L: S >= 30 at n = 20 (hypothesis found S = 10, count = 2)
    @FAST
    @given(qs.planted("few_large_z0", S=st.integers(30, 60), count=st.integers(1, 4)))
    def inner(d):
        assert d.defect == "few_large_z0" and 1 <= d.params["count"] <= 4 and d.catches == ("24",)
        assert "--z0 z0.npy" in d.command()
        assert_violated(qrcheck.check(**d.kwargs, properties=[24]), 24)
    inner()
