"""(19), (20), (21) above the dense limit (issue 15): X^T X read by row blocks, never formed.

The large-m path is forced on small draws by lowering ``dense_limit`` (and the block size, so
that there are many blocks). Both paths compute each Gram entry as a float64 dot product of
length n; the BLAS may round a block's entries differently from the whole product's, so values
are compared to the (E1) radius r of the Gram matrix (``enclosures.gram_bound``): a maximum of
entries moves by at most 2r, a Gershgorin sum of k - 1 entries by 2(k - 1)r plus its rounding.
Subsets and directions found by the searches, and so their statistics, are the same.
"""

import tracemalloc

import numpy as np
import pytest

from qrcheck import enclosures as E, search
from qrcheck.draw import Draw, make_draw
from qrcheck.profiles import load_profile
from qrcheck.properties import CheckContext, get, p20
from qrcheck.quantities import Quantities


def clustered(seed, n=20, m=60, cluster=12):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, m))
    X[:, :cluster] = rng.standard_normal(n)[:, None] + 0.1 * X[:, :cluster]
    X /= np.linalg.norm(X, axis=0)
    return Draw(X=X, W0=rng.standard_normal((40, n)), z0=rng.choice([-1.0, 1.0], 40), y=np.zeros(m), seed=seed)


DRAWS = [make_draw(n=20, S=40, m=50, seed=1), make_draw(n=8, S=30, m=70, seed=2), clustered(3)]


@pytest.fixture
def small_blocks(monkeypatch):
    """Row blocks of 5 to 7 rows (instead of 32 MiB) everywhere."""
    monkeypatch.setattr(search, "GRAM_BLOCK_BYTES", 8 * 5 * 70)


def both(d):
    return Quantities.of(d), Quantities.of(d, dense_limit=4)


@pytest.mark.parametrize("d", DRAWS)
def test_block_statistics_equal_the_dense_ones(d, small_blocks):
    dense, free = both(d)
    assert free.matrix_free and not dense.matrix_free
    r = E.gram_bound(d.X).max()
    G = d.X.T @ d.X
    # blocks of the dense matrix: the same floats, bitwise
    one, many = search.GramRows(None, G, block_bytes=1 << 30), search.GramRows(None, G)
    assert many.rows < d.X.shape[1] // 4  # many blocks
    assert search.scan_rows(one) == search.scan_rows(many)
    a, b = search.sorted_rows(one, (3, 7)), search.sorted_rows(many, (3, 7))
    assert np.array_equal(a.gershgorin_sq, b.gershgorin_sq) and all(np.array_equal(a.at[k], b.at[k]) for k in (3, 7))
    assert p20.cluster_sizes(one) == p20.cluster_sizes(many) == p20.cluster_sizes(G)
    # blocks computed from X, no m x m array
    v, j, jp = free.offdiag_abs_max
    v0, j0, jp0 = dense.offdiag_abs_max
    assert abs(v - v0) <= 2 * r and (j, jp) == (j0, jp0)
    assert free.gram_scan.pair == dense.gram_scan.pair and free.gram_scan.counts == dense.gram_scan.counts
    assert p20.cluster_sizes(free.gram_rows) == p20.cluster_sizes(dense.gram_scan) == p20.cluster_sizes(G)
    m = d.X.shape[1]
    k1 = np.arange(m)
    tol = 2 * k1 * r + 1e-13 * np.abs(dense.gram_sorted().gershgorin_sq)
    assert np.all(np.abs(free.gram_sorted().gershgorin_sq - dense.gram_sorted().gershgorin_sq) <= tol)
    assert np.all(np.abs(free.bounds.gershgorin_upper - dense.bounds.gershgorin_upper) <= tol)
    assert abs(free.column_norm_max - dense.column_norm_max) <= 1e-15
    assert "gram" not in free.__dict__


@pytest.mark.parametrize("d", DRAWS)
@pytest.mark.parametrize("profile", ["paper", "sharp"])
def test_checks_19_20_21_equal_the_dense_path(d, profile, small_blocks):
    dense, free = both(d)
    prof = load_profile(profile)
    cd, cf = CheckContext(dense, prof, seed=d.seed), CheckContext(free, prof, seed=d.seed)
    r = E.gram_bound(d.X).max()
    for eq in ("19", "20", "21"):
        a, b = get(eq).check(cd), get(eq).check(cf)
        assert a.status == b.status, eq
        assert a.witness == b.witness, eq
        for f in ("statistic", "lower", "upper", "threshold"):
            x, y = getattr(a, f), getattr(b, f)
            assert (x is None) == (y is None), (eq, f)
            if x is not None:  # (19): 2r; (20) upper: Gershgorin sums, (k - 1) entries each
                assert y == pytest.approx(x, rel=1e-12, abs=2 * d.X.shape[1] * r), (eq, f)
        if eq == "20":
            for ra, rb in zip(a.details["per_k"], b.details["per_k"]):
                assert ra["J"] == rb["J"] and ra["lower"] == rb["lower"]
                assert rb["upper"] == pytest.approx(ra["upper"], rel=1e-12, abs=2 * ra["k"] * r)
    assert "gram" not in free.__dict__  # nothing m x m was formed


def test_matrix_free_memory_is_blocks_not_m_squared(monkeypatch):
    """At m = 400 the Gram matrix would take 1.28 MB; with 4-row blocks the checks of (19)-(21)
    hold less than half of that at any time (measured ~0.32 MB, which includes imports' caches
    when other tests ran first)."""
    m = 400
    monkeypatch.setattr(search, "GRAM_BLOCK_BYTES", 8 * 4 * m)
    warm = make_draw(n=10, S=20, m=20, seed=4)  # the imports the checks make are not the point
    for eq in ("19", "20", "21"):
        get(eq).check(CheckContext(Quantities.of(warm, dense_limit=10), load_profile("paper"), seed=4))
    d = make_draw(n=10, S=20, m=m, seed=4)
    q = Quantities.of(d, dense_limit=100)
    ctx = CheckContext(q, load_profile("paper"), seed=d.seed)
    tracemalloc.start()
    try:
        for eq in ("19", "20", "21"):
            get(eq).check(ctx)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < m * m * 8 / 2
    assert "gram" not in q.__dict__


@pytest.mark.parametrize("top_k", [None, 3])
def test_gershgorin_bound_stays_rigorous_in_blocks(small_blocks, monkeypatch, top_k):
    """The blocked proved bound (and, with only the top_k largest entries of a row sorted, its
    extrapolation to larger k) still bounds every k-subset's squared norm, by enumeration on a tiny
    clustered input."""
    import itertools

    if top_k is not None:
        monkeypatch.setattr(search, "TOP_K", top_k)
    d = clustered(5, n=4, m=9, cluster=4)
    free = Quantities.of(d, dense_limit=2)
    up = free.bounds.gershgorin_upper
    assert up.shape == (9,)
    for k in range(1, 10):
        truth = max(np.linalg.eigvalsh(d.X[:, J].T @ d.X[:, J])[-1]
                    for J in map(list, itertools.combinations(range(9), k)))
        assert truth <= up[k - 1]
        assert truth <= free.gershgorin_sq(k) * (1 + 1e-12)


def test_top_k_sorting_changes_nothing_up_to_k_and_only_loosens_beyond(monkeypatch):
    d = make_draw(n=20, S=40, m=60, seed=6)
    rows = search.GramRows(None, d.X.T @ d.X)
    b = E.gram_bound(d.X)
    d_up = E.sum_squares(d.X, 0)[2]
    full = search.sorted_rows(rows, (4, 30), d_up, b)
    monkeypatch.setattr(search, "TOP_K", 10)
    part = search.sorted_rows(rows, (4, 30), d_up, b)
    assert np.array_equal(full.gershgorin_sq[:11], part.gershgorin_sq[:11])
    assert np.array_equal(full.gershgorin_upper[:11], part.gershgorin_upper[:11])
    assert np.all(part.gershgorin_sq[11:] >= full.gershgorin_sq[11:])
    assert np.all(part.gershgorin_upper[11:] >= full.gershgorin_upper[11:])
    assert np.array_equal(full.at[4], part.at[4]) and np.all(part.at[30] >= full.at[30])


def test_planted_cluster_is_found_the_same_way_and_the_work_cap_cuts_the_same_steps(small_blocks, monkeypatch):
    """A planted cluster of 20 nearly parallel columns: (20) is violated under ``sharp`` on both
    paths with the same witness; with a binding work cap both paths stop at the same step."""
    from qrcheck import planted
    from qrcheck.search import Effort

    d = planted.with_cluster(make_draw(n=20, S=40, m=70, seed=7), 20).draw
    dense, free = both(d)
    prof = load_profile("sharp")
    a = get("20").check(CheckContext(dense, prof, seed=d.seed))
    b = get("20").check(CheckContext(free, prof, seed=d.seed))
    assert a.status.value == b.status.value == "violated" and a.witness == b.witness
    assert 20 in a.details["cluster_sizes"] or any(abs(k - 20) <= 2 for k in a.details["cluster_sizes"])
    monkeypatch.setattr(search, "WORK_FLOOR", 0.0)
    for eq in ("20", "21"):
        ra = get(eq).check(CheckContext(dense, prof, Effort(work=20.0), seed=d.seed))
        rb = get(eq).check(CheckContext(free, prof, Effort(work=20.0), seed=d.seed))
        assert ra.details["work_cut"] and rb.details["work_cut"]
        assert ra.witness == rb.witness and ra.status == rb.status


def test_threaded_passes_give_the_same_numbers(monkeypatch, small_blocks):
    d = clustered(8)
    for X in (d.X, None):
        rows = search.GramRows(X, None if X is not None else d.X.T @ d.X)
        bd = E.gram_bound(d.X)
        up = E.sum_squares(d.X, 0)[2]
        out = []
        for threads in (1, 2):
            monkeypatch.setattr(search, "PASS_THREADS", threads)
            out.append((search.scan_rows(rows), search.sorted_rows(rows, (3, 9), up, bd)))
        (s1, r1), (s2, r2) = out
        assert s1 == s2
        assert np.array_equal(r1.gershgorin_sq, r2.gershgorin_sq) and np.array_equal(r1.gershgorin_upper, r2.gershgorin_upper)
        assert all(np.array_equal(r1.at[k], r2.at[k]) for k in (3, 9))
