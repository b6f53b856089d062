"""qrcheck.datasets: bundled real data as X on the unit sphere (issue 14)."""

import math

import numpy as np
import pytest

from qrcheck import InputError
from qrcheck import datasets

pytest.importorskip("sklearn")


def test_digits_subsample_is_reproducible_unit_and_sorted():
    a = datasets.load("digits", m=30, seed=3)
    b = datasets.load("digits", m=30, seed=3)
    c = datasets.load("digits", m=30, seed=4)
    assert a.X.shape == (64, 30) and a.n_points == 1797
    assert np.array_equal(a.indices, b.indices) and not np.array_equal(a.indices, c.indices)
    assert np.all(np.diff(a.indices) > 0)
    assert np.allclose(np.linalg.norm(a.X, axis=0), 1.0)
    rec = a.to_json()
    assert rec["indices"] == [int(i) for i in a.indices] and rec["package"] == "scikit-learn"
    assert rec["version"] and rec["subsample"] is True and "Euclidean norm" in rec["normalization"]


def test_center_subtracts_the_mean_of_the_chosen_points():
    ds = datasets.load("iris", m=40, seed=0, center=True)
    from sklearn.datasets import load_iris

    raw = load_iris().data[ds.indices].T
    cen = raw - raw.mean(axis=1, keepdims=True)
    assert np.allclose(ds.X, cen / np.linalg.norm(cen, axis=0))
    assert ds.center and "mean" in ds.normalization


@pytest.mark.parametrize("name", ["iris", "wine", "breast_cancer"])
def test_every_bundled_set_loads_whole(name):
    ds = datasets.load(name)
    assert ds.shape[1] == ds.n_points and np.array_equal(ds.indices, np.arange(ds.n_points))


def test_dataset_labels_centred_with_the_norm_of_gaussian_labels():
    y = datasets.dataset_labels(np.array([0.0, 1.0, 2.0, 5.0]), S=9)
    assert abs(y.sum()) < 1e-12 and math.isclose(np.linalg.norm(y), math.sqrt(4 * 9))
    with pytest.raises(InputError, match="all equal"):
        datasets.dataset_labels(np.ones(5), S=3)


def test_dataset_draw_sources_and_streams():
    from qrcheck.draw import make_draw

    d, ds = datasets.dataset_draw("digits", S=40, m=20, seed=5, labels="dataset")
    assert d.source("X") == "derived" and d.source("y") == "derived" and d.source("W0") == "sampled"
    assert d.labels == "dataset" and d.normalized and d.n == 64 and d.m == 20
    # W0 and z0 are sampled exactly as make_draw samples them from the same seed
    ref = make_draw(n=64, S=40, m=20, seed=5)
    assert np.array_equal(d.W0, ref.W0) and np.array_equal(d.z0, ref.z0)
    g, _ = datasets.dataset_draw("digits", S=40, m=20, seed=5)
    assert g.source("y") == "sampled" and g.labels == "gaussian"


@pytest.mark.parametrize("kwargs, match", [
    ({"name": "mnist"}, "must be one of"),
    ({"name": "iris", "m": 151}, "exceeds the 150 points"),
    ({"name": "iris", "m": 0}, "positive integer"),
])
def test_bad_requests_are_one_line_input_errors(kwargs, match):
    with pytest.raises(InputError, match=match):
        datasets.load(**kwargs)


def test_missing_sklearn_names_the_extra(monkeypatch):
    import builtins

    real = builtins.__import__

    def fake(name, *a, **k):
        if name.startswith("sklearn"):
            raise ImportError(name)
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(InputError, match=r"qrcheck\[data\]"):
        datasets.load("iris")
