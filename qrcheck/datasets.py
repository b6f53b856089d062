"""Real data sets that ship inside an installable package (no download at run time).

``qrcheck verify --dataset NAME`` replaces the sampled X of Section 2.4 by the points of a data set
bundled with scikit-learn (``pip install 'qrcheck[data]'``): every data point becomes a column of
X (n = the number of features), optionally centred, then divided by its Euclidean norm so that it
lies on the unit sphere S^{n-1} as the paper assumes. W0 and z0 are still sampled from the seed
(:func:`qrcheck.draw.streams`), so the run asks the paper's Conclusion question: which of the
properties (19)-(30) fail on real data rather than on a random X.

Reproducibility: the m points are chosen from ``SeedSequence(seed, spawn_key=(SUBSAMPLE_KEY,))``,
a stream independent of the X, W0, z0, y streams (spawn keys 0..3), sorted in the data set's
order; the chosen row indices are recorded in the certificate (``dataset.indices``). The arrays
themselves are recorded with source ``derived`` (computed from the package's data file, not
sampled and not loaded from a ``.npy``) and embedded beside the certificate so that ``qrcheck
audit`` can re-check it.

``--labels dataset``: y is the data set's target of each chosen point, centred and scaled to norm
sqrt(m S), the norm of CONTRACT's Gaussian labels y ~ N(0, S)^m in expectation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import InputError
from . import draw as _draw

# name -> (scikit-learn loader, one-line description)
DATASETS: dict[str, tuple[str, str]] = {
    "digits": ("load_digits", "8x8 images of handwritten digits, 1797 points, 64 pixel features"),
    "iris": ("load_iris", "iris flowers, 150 points, 4 features"),
    "wine": ("load_wine", "wine chemical analysis, 178 points, 13 features"),
    "breast_cancer": ("load_breast_cancer", "breast cancer Wisconsin (diagnostic), 569 points, 30 features"),
}
# spawn key of the subsample stream (draw.STREAMS use 0..3; verify's baseline uses BASELINE_KEY)
SUBSAMPLE_KEY = 16
# the labels mode that takes y from the data set's targets
DATASET_LABELS = "dataset"
NORMALIZATION = "each data point (column of X) divided by its Euclidean norm"
# ``file:PATH``: the points are the columns of an n x N .npy array (``sweep --X FILE``)
FILE_PREFIX = "file:"


@dataclass(frozen=True)
class Dataset:
    """m points of a bundled data set as the n x m matrix X of the paper.

    Attributes
    ----------
    name : key of :data:`DATASETS`.
    X : (n, m) float64, columns on the unit sphere (centred first when ``center``).
    targets : (m,) float64, the data set's target of each chosen point (unscaled).
    indices : (m,) int, the chosen rows of the data set, increasing.
    n_points : number of points in the whole data set.
    package, version : the package the data ship with and its version.
    center : the m chosen points were centred (feature-wise mean subtracted) before normalising.
    """

    name: str
    X: np.ndarray
    targets: np.ndarray
    indices: np.ndarray
    n_points: int
    package: str
    version: str
    center: bool = False

    @property
    def shape(self) -> tuple[int, int]:
        """(n, m) of X."""
        return self.X.shape

    @property
    def normalization(self) -> str:
        """How X was made from the data, in words."""
        return (("the feature-wise mean of the m chosen points subtracted, then " if self.center else "")
                + NORMALIZATION)

    def to_json(self, labels: str | None = None, S: int | None = None) -> dict:
        """The certificate's ``dataset`` record (no arrays: X and y are under ``inputs``)."""
        bundled = self.name in DATASETS
        n, m = self.shape
        d = {"name": self.name, "description": DATASETS[self.name][1] if bundled else "columns of an array file",
             "package": self.package, "version": self.version,
             "loader": f"sklearn.datasets.{DATASETS[self.name][0]}" if bundled else "numpy.load",
             "n_points": self.n_points, "n": n, "m": m, "subsample": m < self.n_points,
             "subsample_stream": f"SeedSequence(seed, spawn_key=({SUBSAMPLE_KEY},))",
             "indices": [int(i) for i in self.indices], "center": self.center,
             "normalization": self.normalization}
        if labels == DATASET_LABELS:
            d["labels"] = (f"the data set's targets of the m points, centred, scaled to norm sqrt(m S)"
                           + (f" = {math.sqrt(m * S):.6g}" if S else ""))
        return d


def names() -> tuple[str, ...]:
    return tuple(DATASETS)


def _sklearn():
    try:
        import sklearn
        import sklearn.datasets
    except ImportError:
        raise InputError("--dataset needs scikit-learn (the data ship with it): pip install 'qrcheck[data]'") from None
    return sklearn


def subsample_indices(n_points: int, m: int | None, seed: int) -> np.ndarray:
    """The m row indices (increasing) chosen from n_points by the subsample stream of ``seed``;
    all rows when m is None or m = n_points."""
    if m is None or m == n_points:
        return np.arange(n_points)
    if int(m) != m or m <= 0:
        raise InputError(f"--m must be a positive integer, got {m}")
    if m > n_points:
        raise InputError(f"--m {m} exceeds the {n_points} points of the data set")
    rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(SUBSAMPLE_KEY,)))
    return np.sort(rng.choice(n_points, size=int(m), replace=False))


def is_file(name: str) -> bool:
    """``name`` names a data file (``file:PATH`` or a path ending in ``.npy``), not a bundled set."""
    return str(name).startswith(FILE_PREFIX) or str(name).endswith(".npy")


def _file_data(name: str) -> tuple[np.ndarray, np.ndarray, str, str]:
    """(points (N, n), targets (N,) zeros, sha256 of the file's array, path) of an n x N .npy file
    whose columns are the points (as ``--X``)."""
    from .draw import _load

    path = name[len(FILE_PREFIX):] if name.startswith(FILE_PREFIX) else name
    a = _load(path, "X")
    if a.ndim != 2 or a.size == 0:
        raise InputError(f"--X {path} must hold a non-empty 2-d array (n x points), got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise InputError(f"--X {path} contains non-finite values")
    import hashlib

    digest = hashlib.sha256(np.ascontiguousarray(a, dtype="<f8").tobytes()).hexdigest()
    return a.T, np.zeros(a.shape[1]), digest, path


def load(name: str, *, m: int | None = None, seed: int = 0, center: bool = False) -> Dataset:
    """m points of the bundled data set ``name`` (or of the n x N array file ``file:PATH``, whose
    columns are the points) as X (n, m) on the unit sphere.

    Raises :class:`qrcheck.InputError` on an unknown name, scikit-learn missing, m larger than the
    data set, or a chosen point that is zero (after centring).
    """
    if is_file(name):
        data, target, digest, path = _file_data(str(name))
        package, version = f"file {path}", f"sha256 {digest}"
    elif name not in DATASETS:
        raise InputError(f"--dataset must be one of {', '.join(DATASETS)} (or file:X.npy), got {name!r}")
    else:
        sklearn = _sklearn()
        bunch = getattr(sklearn.datasets, DATASETS[name][0])()
        data = np.asarray(bunch.data, dtype=np.float64)
        target = np.asarray(bunch.target, dtype=np.float64)
        package, version = "scikit-learn", sklearn.__version__
    idx = subsample_indices(data.shape[0], m, seed)
    X = data[idx].T.copy()
    if center:
        X -= X.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(X, axis=0)
    if np.any(norms == 0):
        bad = int(np.flatnonzero(norms == 0)[0])
        raise InputError(f"--dataset {name}: point {int(idx[bad])} is zero{' after centring' if center else ''}; "
                         "it has no direction on the unit sphere")
    X /= norms
    return Dataset(str(name), X, target[idx], idx, int(data.shape[0]), package, version, bool(center))


def dataset_labels(targets: np.ndarray, S: int) -> np.ndarray:
    """(m,) labels from targets: centred, scaled to norm sqrt(m S) (the norm CONTRACT's Gaussian
    labels y ~ N(0, S)^m have in expectation)."""
    t = np.asarray(targets, dtype=np.float64) - float(np.mean(targets))
    norm = float(np.linalg.norm(t))
    if norm == 0:
        raise InputError("--labels dataset: the targets of the chosen points are all equal (nothing to fit)")
    return t * (math.sqrt(t.shape[0] * S) / norm)


def dataset_draw(name: str, *, S: int, m: int | None = None, seed: int = 0, z_dist: str = "rademacher",
                 labels: str = "gaussian", center: bool = False) -> tuple[_draw.Draw, Dataset]:
    """The draw of ``verify --dataset NAME``: X from the data set (source ``derived``), W0 and z0
    sampled from ``seed`` exactly as :func:`qrcheck.draw.make_draw` samples them, y from ``labels``
    (``dataset``: :func:`dataset_labels`, source ``derived``; else the CONTRACT modes)."""
    if z_dist not in _draw.Z_DISTS:
        raise InputError(f"--z-dist must be one of {', '.join(_draw.Z_DISTS)}, got {z_dist!r}")
    if labels not in (*_draw.LABELS, DATASET_LABELS):
        raise InputError(f"--labels must be one of {', '.join((*_draw.LABELS, DATASET_LABELS))}, got {labels!r}")
    if int(seed) != seed or seed < 0:
        raise InputError(f"--seed must be a non-negative integer, got {seed}")
    if S is None:
        raise InputError("--S is required with --dataset")
    ds = load(name, m=m, seed=seed, center=center)
    n, m = ds.shape
    _draw.check_sizes(n, S, m)
    rng = _draw.streams(int(seed))
    W0 = _draw.sample_W0(rng["W0"], S, n)
    z0 = _draw.sample_z0(rng["z0"], S, z_dist)
    if labels == DATASET_LABELS:
        if is_file(name):
            raise InputError("--labels dataset needs a bundled data set (an array file has no targets)")
        y = dataset_labels(ds.targets, S)
    else:
        y = _draw.labels_from(labels, rng["y"], ds.X, W0, z0)
    sources = {"X": "derived", "W0": "sampled", "z0": "sampled",
               "y": "derived" if labels == DATASET_LABELS else "sampled"}
    frozen = {k: _draw._frozen(a) for k, a in (("X", ds.X), ("W0", W0), ("z0", z0), ("y", y))}
    d = _draw.Draw(**frozen, seed=int(seed), z_dist=z_dist, labels=labels, sources=sources, normalized=True)
    return d, ds
