"""The draw (X, W0, z0, y) of paper Section 2.4: sampled from a seed or loaded from files.

Sampling uses one ``numpy.random.SeedSequence`` child stream per array, in the fixed order
``X, W0, z0, y`` (:data:`STREAMS`), so changing how one array is drawn (say ``z_dist``) leaves the
others bit-identical.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, Mapping

import numpy as np

from . import InputError
from .system import DENSE_M_LIMIT, GRAM_BLOCK_BYTES, available_bytes
from . import model

STREAMS = ("X", "W0", "z0", "y")
ZDist = Literal["rademacher", "gaussian"]
Labels = Literal["gaussian", "low", "high", "local"]
Z_DISTS = ("rademacher", "gaussian")
LABELS = ("gaussian", "low", "high", "local")
UNIT_NORM_TOL = 1e-6
# where an array came from (certificate ``inputs.*.source``): sampled from the seed, loaded from a
# .npy file, given in memory (Python API), or derived from other arrays (a planted defect)
SOURCES = ("sampled", "file", "memory", "derived")
# CONTRACT defaults (paper Section 4): the design card n = 100, S = 500, m = 300
DEFAULT_N, DEFAULT_S, DEFAULT_M = 100, 500, 300


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=np.float64)
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class Draw:
    """An immutable draw.

    Attributes
    ----------
    X : (n, m) float64, columns on the unit sphere.
    W0 : (S, n) float64, first-layer weights at initialisation.
    z0 : (S,) float64, output weights at initialisation.
    y : (m,) float64, labels.
    seed : base seed of the streams that sampled the arrays not given as files.
    z_dist, labels : how z0 and y were (or would have been) sampled.
    sources : array name -> one of :data:`SOURCES` (``"sampled"``, ``"file"``, ``"memory"``,
        ``"derived"``); a name not listed was sampled.
    normalized : True when X was loaded and its columns were rescaled to unit norm (``--normalize``).
    """

    X: np.ndarray
    W0: np.ndarray
    z0: np.ndarray
    y: np.ndarray
    seed: int = 0
    z_dist: str = "rademacher"
    labels: str = "gaussian"
    sources: Mapping[str, str] = field(default_factory=dict)
    normalized: bool = False

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def m(self) -> int:
        return self.X.shape[1]

    @property
    def S(self) -> int:
        return self.W0.shape[0]

    def __post_init__(self) -> None:
        bad = {k: v for k, v in dict(self.sources).items() if k not in STREAMS or v not in SOURCES}
        if bad:
            raise ValueError(f"Draw.sources: unknown array or source {bad}; arrays {STREAMS}, sources {SOURCES}")

    def arrays(self) -> dict[str, np.ndarray]:
        return {"X": self.X, "W0": self.W0, "z0": self.z0, "y": self.y}

    def source(self, name: str) -> str:
        """Where array ``name`` came from (:data:`SOURCES`)."""
        return dict(self.sources).get(name, "sampled")

    def derived(self, **arrays: np.ndarray) -> "Draw":
        """This draw with ``arrays`` (any of X, W0, z0, y) replaced by arrays computed from it (a
        planted defect, a projection, ...), each frozen and recorded with source ``"derived"``, so
        a certificate of the result says truthfully that they were neither sampled nor loaded."""
        unknown = set(arrays) - set(STREAMS)
        if unknown:
            raise ValueError(f"Draw.derived: unknown array(s) {sorted(unknown)}; expected {STREAMS}")
        frozen = {k: _frozen(a) for k, a in arrays.items()}
        return replace(self, **frozen, sources={**dict(self.sources), **dict.fromkeys(frozen, "derived")})


def random_stream_fingerprint() -> str:
    """sha256 of tiny arrays sampled exactly as this module samples X, W0, z0 (both
    distributions) and Gaussian y, from seed 0. Two machines with the same fingerprint regenerate
    the same sampled arrays from the same seed; a different fingerprint means numpy's random
    stream changed, so regenerated digests cannot match (that is not tampering)."""
    rng = streams(0)
    parts = [sample_X(rng["X"], 3, 4), sample_W0(rng["W0"], 4, 3), sample_z0(rng["z0"], 4, "rademacher"),
             sample_z0(rng["z0"], 4, "gaussian"), rng["y"].normal(0.0, 2.0, size=4)]
    h = hashlib.sha256()
    for a in parts:
        h.update(np.ascontiguousarray(a, dtype="<f8").tobytes())
    return h.hexdigest()


def streams(seed: int) -> dict[str, np.random.Generator]:
    """One independent generator per array (:data:`STREAMS` order), children of ``SeedSequence(seed)``."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.default_rng(ss) for name, ss in zip(STREAMS, children)}


def sample_X(rng: np.random.Generator, n: int, m: int) -> np.ndarray:
    """(n, m): columns uniform on S^{n-1} (normalised standard Gaussians), Section 2.4."""
    X = rng.standard_normal((n, m))
    X /= np.linalg.norm(X, axis=0, keepdims=True)
    return X


def sample_W0(rng: np.random.Generator, S: int, n: int) -> np.ndarray:
    """(S, n): i.i.d. N(0, 1), Section 2.4."""
    return rng.standard_normal((S, n))


def sample_z0(rng: np.random.Generator, S: int, z_dist: str) -> np.ndarray:
    """(S,): Rademacher (+-1) or standard Gaussian entries, (13)-(14)."""
    if z_dist == "rademacher":
        return rng.choice(np.array([-1.0, 1.0]), size=S)
    return rng.standard_normal(S)


def labels_from(labels: str, rng: np.random.Generator, X: np.ndarray, W0: np.ndarray,
                z0: np.ndarray) -> np.ndarray:
    """(m,) labels y per CONTRACT / paper Section 4.

    ``gaussian``: y ~ N(0, S)^m. Otherwise y = f0 - e0 with
    ``low``: e0 the bottom eigenvector of H0 scaled to norm sqrt(m S) (sign: largest entry positive);
    ``high``: e0 = sqrt(n S) X^T X^1; ``local``: e0 = sqrt(m S) times the first basis vector.
    """
    n, m = X.shape
    S = W0.shape[0]
    if labels == "gaussian":
        return rng.normal(0.0, np.sqrt(S), size=m)
    P0 = W0 @ X
    f0 = model.output(model.features(P0), z0)
    if labels == "low":
        H0 = model.H_matrix(X, z0, model.activations(P0))
        _, vec = np.linalg.eigh(H0)
        e0 = vec[:, 0]
        e0 = e0 * np.sign(e0[np.argmax(np.abs(e0))])
        e0 *= np.sqrt(m * S)
    elif labels == "high":
        e0 = np.sqrt(n * S) * (X.T @ X[:, 0])
    elif labels == "local":
        e0 = np.zeros(m)
        e0[0] = np.sqrt(m * S)
    else:
        raise InputError(f"unknown labels mode {labels!r}; choose one of {', '.join(LABELS)}")
    return f0 - e0


def estimated_bytes(n: int, S: int, m: int) -> int:
    """Peak working-set estimate of a verify run, float64: O(Sn + Sm + m^2 + nm) up to
    DENSE_M_LIMIT; above it no m x m array is formed, so O(Sn + Sm + nm) plus a few row blocks of
    X^T X (``GRAM_BLOCK_BYTES`` each)."""
    square = 6 * m * m if m <= DENSE_M_LIMIT else 4 * GRAM_BLOCK_BYTES // 8
    return 8 * (3 * S * n + 2 * n * m + 8 * S * m + square + 4 * (S + m))


def check_sizes(n: int, S: int, m: int) -> None:
    for name, v in (("n", n), ("S", S), ("m", m)):
        if int(v) != v or v <= 0:
            raise InputError(f"--{name} must be a positive integer, got {v}")
    if n * S < 3:
        raise InputError(f"n S must be at least 3 (L = ln(nS) must exceed 1), got n={n}, S={S}")
    need, have = estimated_bytes(n, S, m), available_bytes()
    if need > have:
        raise InputError(
            f"n={n}, S={S}, m={m} needs about {need / 2**30:.1f} GiB but only "
            f"{have / 2**30:.1f} GiB is available; choose smaller sizes")


def _is_path(v: object) -> bool:
    return isinstance(v, (str, os.PathLike))


def _from_memory(a: object, name: str) -> np.ndarray:
    """An in-memory array (numpy or array-like), validated as a loaded file is (source ``memory``)."""
    try:
        a = np.asarray(a)
    except Exception as exc:  # noqa: BLE001 - anything numpy cannot read is an input error
        raise InputError(f"--{name}: cannot read the in-memory value as an array ({exc.__class__.__name__})") from None
    if a.dtype.kind not in "fiu":
        raise InputError(f"--{name}: the in-memory array does not hold a real numeric array (dtype {a.dtype})")
    return np.array(a, dtype=np.float64)


def _load(path: str | Path | np.ndarray, name: str) -> np.ndarray:
    if not _is_path(path):
        return _from_memory(path, name)
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise InputError(f"--{name}: no such file: {p}") from None
    except OSError as exc:
        raise InputError(f"--{name}: cannot read {p}: {exc.strerror or exc.__class__.__name__}") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"--{name}: {p} is a folder, not a .npy file")
    if not stat.S_ISREG(st.st_mode):
        kind = next((w for t, w in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
                                    (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")) if t(st.st_mode)),
                    "special")
        raise InputError(f"--{name}: {p} is {kind}, not a regular file; give a .npy file")
    try:
        # mmap first so that the size check below happens before the data is read
        a = np.load(p, mmap_mode="r", allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - any load failure is an input error
        raise InputError(f"--{name}: cannot read {p} as a .npy array ({exc.__class__.__name__})") from None
    if not isinstance(a, np.ndarray) or a.dtype.kind not in "fiu":
        raise InputError(f"--{name}: {p} does not hold a real numeric array")
    if a.nbytes > available_bytes():
        raise InputError(f"--{name}: {p} ({a.nbytes / 2**30:.1f} GiB) does not fit in memory")
    return np.array(a, dtype=np.float64)


def _check_finite(name: str, a: np.ndarray) -> None:
    if not np.all(np.isfinite(a)):
        bad = int(np.size(a) - np.count_nonzero(np.isfinite(a)))
        raise InputError(f"{name} contains {bad} non-finite value(s) (NaN or inf)")


def make_draw(*, n: int | None = DEFAULT_N, S: int | None = DEFAULT_S, m: int | None = DEFAULT_M, seed: int = 0,
              z_dist: str = "rademacher", labels: str = "gaussian",
              X: str | Path | np.ndarray | None = None, W0: str | Path | np.ndarray | None = None,
              z0: str | Path | np.ndarray | None = None, y: str | Path | np.ndarray | None = None,
              normalize: bool = False) -> Draw:
    """Sample or load a draw; arrays given as files (paths) or in memory (arrays) win, their
    shapes fix n, S, m. In-memory arrays are validated exactly as files are and recorded with
    source ``memory`` (files: ``file``; y's ``labels`` then says ``memory`` or ``file``).

    Raises :class:`qrcheck.InputError` (one clear line) on non-finite values, inconsistent shapes,
    non-positive sizes, X columns off the unit sphere (unless ``normalize``) and on sizes whose
    arrays would not fit in memory (checked before allocating).
    """
    if z_dist not in Z_DISTS:
        raise InputError(f"--z-dist must be one of {', '.join(Z_DISTS)}, got {z_dist!r}")
    if labels not in LABELS:
        raise InputError(f"--labels must be one of {', '.join(LABELS)}, got {labels!r}")
    if int(seed) != seed or seed < 0:
        raise InputError(f"--seed must be a non-negative integer, got {seed}")
    files = {"X": X, "W0": W0, "z0": z0, "y": y}
    loaded = {k: _load(v, k) for k, v in files.items() if v is not None}
    given = {k: ("file" if _is_path(v) else "memory") for k, v in files.items() if v is not None}
    expect_ndim = {"X": 2, "W0": 2, "z0": 1, "y": 1}
    for k, a in loaded.items():
        if a.ndim != expect_ndim[k]:
            raise InputError(f"--{k} must be a {expect_ndim[k]}-d array, got shape {a.shape}")
        if a.size == 0:
            raise InputError(f"--{k} is empty (shape {a.shape}); sizes must be positive")
        _check_finite(k, a)
    dims = {"n": n, "S": S, "m": m}
    read_off = {"X": ("n", "m"), "W0": ("S", "n"), "z0": ("S",), "y": ("m",)}
    seen: dict[str, tuple[int, str]] = {}
    for k, a in loaded.items():
        for axis, d in enumerate(read_off[k]):
            size = a.shape[axis]
            if d in seen and seen[d][0] != size:
                raise InputError(
                    f"inconsistent shapes: {seen[d][1]} gives {d}={seen[d][0]} but --{k} "
                    f"has shape {a.shape} ({d}={size})")
            seen[d] = (size, f"--{k} (shape {a.shape})")
    for d, (size, where) in seen.items():
        if dims[d] is not None and int(dims[d]) != size:
            raise InputError(f"--{d} {dims[d]} conflicts with {where}, which gives {d}={size}; "
                             f"drop --{d} or give matching arrays")
        dims[d] = size
    for d, v in dims.items():
        if v is None:
            raise InputError(f"--{d} is required when no array file fixes it")
    check_sizes(dims["n"], dims["S"], dims["m"])
    n, S, m = (int(dims[d]) for d in ("n", "S", "m"))

    normalized = False
    if "X" in loaded:
        norms = np.linalg.norm(loaded["X"], axis=0)
        if np.any(norms == 0):
            raise InputError(f"X has {int(np.sum(norms == 0))} zero column(s); data points must be on the unit sphere")
        worst = float(np.max(np.abs(norms - 1.0)))
        if worst > UNIT_NORM_TOL:
            if not normalize:
                raise InputError(
                    f"X columns are not of unit norm (largest deviation {worst:.3g}); "
                    "pass --normalize to rescale them")
            loaded["X"] = loaded["X"] / norms
            normalized = True

    rng = streams(int(seed))
    Xa = loaded["X"] if "X" in loaded else sample_X(rng["X"], n, m)
    W0a = loaded["W0"] if "W0" in loaded else sample_W0(rng["W0"], S, n)
    z0a = loaded["z0"] if "z0" in loaded else sample_z0(rng["z0"], S, z_dist)
    ya = loaded["y"] if "y" in loaded else labels_from(labels, rng["y"], Xa, W0a, z0a)
    return Draw(X=_frozen(Xa), W0=_frozen(W0a), z0=_frozen(z0a), y=_frozen(ya), seed=int(seed),
                z_dist=z_dist, labels=labels if "y" not in loaded else given["y"],
                sources={k: (given[k] if k in loaded else "sampled") for k in STREAMS},
                normalized=normalized)
