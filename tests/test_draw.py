"""The draw: SeedSequence streams, sampler invariants, loading and validation (issue 2)."""

import hashlib

import numpy as np
import pytest

from qrcheck import InputError
from qrcheck import draw as dr
from qrcheck.certificate.io import sha256_of


def test_columns_on_unit_sphere():
    d = dr.make_draw(n=7, S=11, m=13, seed=3)
    np.testing.assert_allclose(np.linalg.norm(d.X, axis=0), 1.0, rtol=0, atol=1e-14)
    assert d.X.shape == (7, 13) and d.W0.shape == (11, 7) and d.z0.shape == (11,) and d.y.shape == (13,)


def test_same_seed_same_arrays_and_different_seed_differs():
    a, b, c = (dr.make_draw(n=5, S=6, m=7, seed=s) for s in (1, 1, 2))
    for k in ("X", "W0", "z0", "y"):
        assert np.array_equal(a.arrays()[k], b.arrays()[k])
    assert not np.array_equal(a.X, c.X)


def test_streams_are_the_seedsequence_children():
    """Independent recomputation of each stream from SeedSequence(seed).spawn(4)."""
    d = dr.make_draw(n=4, S=5, m=6, seed=9)
    kids = np.random.SeedSequence(9).spawn(4)
    X = np.random.default_rng(kids[0]).standard_normal((4, 6))
    np.testing.assert_array_equal(d.X, X / np.linalg.norm(X, axis=0))
    np.testing.assert_array_equal(d.W0, np.random.default_rng(kids[1]).standard_normal((5, 4)))
    assert set(np.unique(d.z0)) <= {-1.0, 1.0}
    np.testing.assert_array_equal(d.y, np.random.default_rng(kids[3]).normal(0, np.sqrt(5), 6))


def test_changing_only_z0_stream_leaves_X_and_W0_bit_identical():
    a = dr.make_draw(n=5, S=8, m=6, seed=4, z_dist="rademacher")
    b = dr.make_draw(n=5, S=8, m=6, seed=4, z_dist="gaussian")
    assert a.X.tobytes() == b.X.tobytes() and a.W0.tobytes() == b.W0.tobytes()
    assert not np.array_equal(a.z0, b.z0)


def test_draw_is_immutable():
    d = dr.make_draw(n=3, S=4, m=5)
    with pytest.raises(ValueError):
        d.X[0, 0] = 1.0
    with pytest.raises(Exception):
        d.seed = 3  # frozen dataclass


def test_sha256_is_little_endian_float64_c_order():
    a = np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3))
    expect = hashlib.sha256(np.ascontiguousarray(a, dtype="<f8").tobytes()).hexdigest()
    assert sha256_of(a) == expect
    big = np.arange(6, dtype=">f8").reshape(2, 3)
    assert sha256_of(big) == expect


def _save(tmp_path, **arrays):
    paths = {}
    for k, a in arrays.items():
        paths[k] = str(tmp_path / f"{k}.npy")
        np.save(paths[k], a)
    return paths


def test_load_reads_dimensions_and_samples_the_rest(tmp_path, rng):
    X = rng.standard_normal((6, 9))
    X /= np.linalg.norm(X, axis=0)
    p = _save(tmp_path, X=X)
    d = dr.make_draw(n=None, S=12, m=None, X=p["X"])
    assert (d.n, d.S, d.m) == (6, 12, 9)
    assert d.sources == {"X": "file", "W0": "sampled", "z0": "sampled", "y": "sampled"}
    np.testing.assert_array_equal(d.X, X)


@pytest.mark.parametrize("bad, match", [
    (dict(X=np.array([[np.nan, 1.0], [0.0, 0.0]])), "non-finite"),
    (dict(W0=np.ones((4, 3)), X=np.eye(5)), "inconsistent shapes"),
    (dict(z0=np.ones(3), W0=np.ones((4, 5))), "inconsistent shapes"),
    (dict(X=2 * np.eye(3), W0=np.ones((4, 3))), "--normalize"),
    (dict(X=np.zeros((3, 0))), "empty"),
    (dict(z0=np.ones((2, 2))), "1-d"),
])
def test_bad_files_are_input_errors(tmp_path, bad, match):
    p = _save(tmp_path, **bad)
    with pytest.raises(InputError, match=match):
        dr.make_draw(n=None, S=None, m=None, **p)


def test_normalize_rescales_and_records(tmp_path):
    p = _save(tmp_path, X=3.0 * np.eye(4))
    d = dr.make_draw(n=None, S=5, m=None, X=p["X"], normalize=True)
    assert d.normalized and np.allclose(d.X, np.eye(4))


@pytest.mark.parametrize("n,S,m", [(0, 5, 5), (5, -1, 5), (5, 5, 0)])
def test_non_positive_sizes(n, S, m):
    with pytest.raises(InputError, match="positive"):
        dr.make_draw(n=n, S=S, m=m)


def test_memory_refused_before_allocating(monkeypatch):
    monkeypatch.setattr(dr, "available_bytes", lambda: 10**6)
    with pytest.raises(InputError, match="GiB"):
        dr.make_draw(n=100, S=1000, m=1000)


def test_non_npy_file_is_an_input_error(tmp_path):
    f = tmp_path / "X.npy"
    f.write_text("not numpy")
    with pytest.raises(InputError, match="cannot read"):
        dr.make_draw(n=None, S=3, m=None, X=str(f))


def test_derived_arrays_are_frozen_and_recorded_as_derived():
    d = dr.make_draw(n=4, S=6, m=3, seed=1)
    X = d.X[:, ::-1].copy()
    e = d.derived(X=X)
    assert e.source("X") == "derived" and e.source("W0") == "sampled" and d.source("X") == "sampled"
    assert not e.X.flags.writeable and np.array_equal(e.X, X)
    with pytest.raises(ValueError):
        d.derived(Q=X)
    with pytest.raises(ValueError):
        dr.Draw(d.X, d.W0, d.z0, d.y, sources={"X": "web"})
