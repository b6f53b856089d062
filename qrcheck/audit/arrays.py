"""The arrays X, W0, z0, y of a certificate: regenerated from its seed, or read from an .npz, and
checked against the digests of ``inputs`` (CONTRACT; docs/certificates.md).

The sampler is the audit's own, written from CONTRACT and the documented procedure of draw.py
(Section 2.4 of the paper): ``numpy.random.SeedSequence(seed).spawn(4)`` gives one child stream per
array in the order X, W0, z0, y, each read through ``numpy.random.default_rng``:

- X (n, m): ``standard_normal((n, m))``, each column divided by its Euclidean norm;
- W0 (S, n): ``standard_normal((S, n))``;
- z0 (S,): Rademacher ``choice([-1.0, 1.0], size=S)`` or Gaussian ``standard_normal(S)``;
- y (m,): ``gaussian``: ``normal(0, sqrt(S), size=m)``; else y = f0 - e0 with f0 = relu(W0 X)^T z0 and
  ``low``: e0 the bottom eigenvector of H0 = (X^T X) o (A0^T diag(z0^2) A0) (``numpy.linalg.eigh``,
  sign making its largest-magnitude entry positive) times sqrt(m S); ``high``: sqrt(n S) X^T X^1;
  ``local``: sqrt(m S) e_1.

:func:`fingerprint` is the digest of tiny arrays sampled this way from seed 0 (the certificate's
``provenance.random_stream``): equal fingerprints mean equal streams, so a digest that differs is
a wrong seed or a wrong digest, never numpy.

Rules (issue 11): an array whose ``source`` is ``sampled`` must equal the regenerated one, even when
an .npz is given (an .npz cannot make seed 6's arrays pass as seed 5's); ``file``, ``memory`` and
``derived`` arrays come from the .npz and must match their digests; exit 3 only when the arrays
truly cannot be obtained here (a changed random stream and no .npz, user arrays without an .npz, a
BLAS-dependent y on another BLAS).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..system import available_bytes
from .ledger import Ledger
from .text import safe

NAMES = ("X", "W0", "z0", "y")
SOURCES = ("sampled", "file", "memory", "derived")
Z_DISTS = ("rademacher", "gaussian")
LABELS = ("gaussian", "low", "high", "local")
BLAS_LABELS = ("low", "high")  # y computed with BLAS from X, W0, z0: last bits depend on the BLAS


class ArraysUnreadable(Exception):
    """The ``--arrays`` file (or the embedded .npz) cannot be read: exit 2."""


def digest(a: np.ndarray) -> str:
    """sha256 of the C-order little-endian float64 bytes (CONTRACT ``inputs.*.sha256``)."""
    return hashlib.sha256(np.ascontiguousarray(a, dtype="<f8").tobytes(order="C")).hexdigest()


def _streams(seed: int) -> dict[str, np.random.Generator]:
    children = np.random.SeedSequence(seed).spawn(len(NAMES))
    return {name: np.random.default_rng(child) for name, child in zip(NAMES, children)}


def _X(rng: np.random.Generator, n: int, m: int) -> np.ndarray:
    X = rng.standard_normal((n, m))
    return X / np.linalg.norm(X, axis=0, keepdims=True)


def _z0(rng: np.random.Generator, S: int, z_dist: str) -> np.ndarray:
    if z_dist == "rademacher":
        return rng.choice(np.array([-1.0, 1.0]), size=S)
    return rng.standard_normal(S)


def _y(labels: str, rng: np.random.Generator, X: np.ndarray, W0: np.ndarray, z0: np.ndarray) -> np.ndarray:
    n, m = X.shape
    S = W0.shape[0]
    if labels == "gaussian":
        return rng.normal(0.0, np.sqrt(S), size=m)
    P0 = W0 @ X
    f0 = np.maximum(P0, 0.0).T @ z0
    if labels == "low":
        A = (P0 > 0).astype(np.float64)
        H0 = (X.T @ X) * (A.T @ (A * (z0 ** 2)[:, None]))
        vec = np.linalg.eigh(H0)[1][:, 0]
        e0 = vec * np.sign(vec[np.argmax(np.abs(vec))]) * np.sqrt(m * S)
    elif labels == "high":
        e0 = np.sqrt(n * S) * (X.T @ X[:, 0])
    else:  # local
        e0 = np.zeros(m)
        e0[0] = np.sqrt(m * S)
    return f0 - e0


def fingerprint() -> str:
    """Digest of tiny arrays drawn from seed 0 as :func:`regenerate` draws them (X 3x4, W0 4x3, z0
    Rademacher then Gaussian from one stream, y ~ N(0, 4) of length 4)."""
    rng = _streams(0)
    parts = [_X(rng["X"], 3, 4), rng["W0"].standard_normal((4, 3)), _z0(rng["z0"], 4, "rademacher"),
             _z0(rng["z0"], 4, "gaussian"), rng["y"].normal(0.0, 2.0, size=4)]
    h = hashlib.sha256()
    for a in parts:
        h.update(np.ascontiguousarray(a, dtype="<f8").tobytes())
    return h.hexdigest()


def regenerate(seed: int, n: int, S: int, m: int, z_dist: str, labels: str,
               given: Mapping[str, np.ndarray] | None = None, dense_m: int | None = None) -> dict[str, np.ndarray]:
    """X, W0, z0, y sampled from ``seed`` (module docstring); arrays in ``given`` replace the sampled
    ones (y is computed from the arrays actually used). Labels ``low`` need the m x m H0: above
    ``dense_m`` (None: no limit) y is left out."""
    given = dict(given or {})
    rng = _streams(int(seed))
    X = given["X"] if "X" in given else _X(rng["X"], n, m)
    W0 = given["W0"] if "W0" in given else rng["W0"].standard_normal((S, n))
    z0 = given["z0"] if "z0" in given else _z0(rng["z0"], S, z_dist)
    out = {"X": X, "W0": W0, "z0": z0}
    if "y" in given:
        out["y"] = given["y"]
    elif not (labels == "low" and dense_m is not None and m > dense_m):
        out["y"] = _y(labels, rng["y"], X, W0, z0)
    return out


def _read_npz(path: Path, shapes: Mapping[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    """The arrays of an .npz, headers checked against ``shapes`` before any data is read
    (``qrcheck.certificate.io.load_npz``: no pickles, no other names)."""
    from ..certificate.io import load_npz

    try:
        return load_npz(path, shapes)
    except Exception as exc:  # noqa: BLE001 - InputError or anything else: not readable
        raise ArraysUnreadable(safe(str(exc), 300)) from None


@dataclass
class Arrays:
    """What the loader obtained: the arrays (None when they could not be obtained), where they came
    from, and which digests are confirmed."""

    arrays: dict[str, np.ndarray] | None
    origin: str
    confirmed: dict[str, bool] = field(default_factory=dict)

    @property
    def y_confirmed(self) -> bool:
        return self.confirmed.get("y", False)


def obtain(cert: Mapping[str, Any], cert_path: Path | None, arrays_arg: Any, led: Ledger,
           dense_m: int | None = None) -> Arrays:
    """The certificate's arrays, with every ``inputs.*`` digest checked (vouching ``inputs``).

    Order: the .npz of ``--arrays``, else the embedded one (``arrays.file`` beside the certificate,
    a bare file name, its own sha256 checked first); sampled arrays are always regenerated from
    ``parameters.seed`` and must equal both their digest and any .npz copy (labels ``low`` above
    ``dense_m``: y, the bottom eigenvector of the m x m H0, is not regenerated, a ``cannot``). Raises
    :class:`ArraysUnreadable` for an unreadable ``--arrays`` file (exit 2)."""
    p, inputs = cert["parameters"], cert["inputs"]
    n, S, m = p["n"], p["S"], p["m"]
    shapes = {"X": (n, m), "W0": (S, n), "z0": (S,), "y": (m,)}
    for k in NAMES:
        led.check(f"inputs.{k}.shape", inputs[k].get("shape"), list(shapes[k]))
        led.check(f"inputs.{k}.dtype", inputs[k].get("dtype"), "float64")
        src = inputs[k].get("source")
        if src not in SOURCES:
            led.fail(f"inputs.{k}.source", src, f"one of {', '.join(SOURCES)}")
        else:
            led.vouch(f"inputs.{k}.source")
    npz: dict[str, np.ndarray] | None = None
    origin = "regenerated from the seed"
    if isinstance(arrays_arg, Mapping):
        npz = {}
        for k, v in arrays_arg.items():
            if k not in shapes:
                raise ArraysUnreadable(f"unexpected array {safe(k, 20)!r} (expected {', '.join(NAMES)})")
            a = np.asarray(v)
            if a.shape != shapes[k] or a.dtype.kind not in "fiu":
                raise ArraysUnreadable(f"{k} has shape {a.shape}, the certificate says {shapes[k]}")
            npz[k] = np.ascontiguousarray(a, dtype=np.float64)
        origin = "given in memory"
    elif arrays_arg is not None:
        npz = _read_npz(Path(arrays_arg), shapes)
        origin = f"from {safe(Path(arrays_arg).name, 80)}"
    elif isinstance(cert.get("arrays"), dict):
        emb = cert["arrays"]
        name = emb.get("file")
        if not isinstance(name, str) or not name or Path(name).name != name or name in (".", ".."):
            led.fail("arrays.file", name, "a bare file name beside the certificate")
        elif cert_path is None:
            led.cannot("arrays.file", "the certificate was given in memory, so its .npz cannot be located",
                       "pass arrays=FILE.npz")
        else:
            f = cert_path.parent / name
            if not f.is_file():
                led.cannot("arrays.file", f"the embedded arrays file {safe(name, 80)} is not beside the certificate",
                           "copy it beside the certificate or pass --arrays FILE.npz")
            else:
                from ..certificate.io import sha256_file

                if led.check("arrays.sha256", emb.get("sha256"), sha256_file(f)):
                    npz = _read_npz(f, shapes)
                    origin = f"from the embedded {safe(name, 80)}"
                led.vouch("arrays.file")

    sampled = [k for k in NAMES if inputs[k].get("source") == "sampled"]
    seed, z_dist, labels = p["seed"], p["z_dist"], p["labels"]
    seed_ok = not isinstance(seed, bool) and isinstance(seed, int) and 0 <= seed < 2**128
    if sampled:
        bad = False
        if not seed_ok:
            led.fail("parameters.seed", seed, "a non-negative integer below 2^128")
            bad = True
        if "z0" in sampled and z_dist not in Z_DISTS:
            led.fail("parameters.z_dist", z_dist, f"one of {', '.join(Z_DISTS)}")
            bad = True
        if "y" in sampled and labels not in LABELS:
            led.fail("parameters.labels", labels, f"one of {', '.join(LABELS)}")
            bad = True
        if bad:
            return Arrays(None, "unavailable", {})
    for k in ("seed", "z_dist", "labels"):
        led.vouch(f"parameters.{k}")
    given = {k: npz[k] for k in NAMES if k not in sampled and npz is not None and k in npz}
    # what the seed gives for every array not taken from the .npz (a non-sampled array without an
    # .npz may still be the seed's: then it is re-derivable, whatever its source says)
    out: dict[str, np.ndarray | None] = {}
    if seed_ok:
        out.update(regenerate(seed, n, S, m, z_dist if z_dist in Z_DISTS else "rademacher",
                              labels if labels in LABELS else "gaussian", given, dense_m))
    out.update(given)
    prov = cert.get("provenance") if isinstance(cert.get("provenance"), dict) else {}
    claimed_fp = prov.get("random_stream")
    mine = fingerprint()
    same_stream = claimed_fp == mine
    if claimed_fp is not None:
        led.vouch("provenance.random_stream")  # used below to tell a changed stream from tampering
    if claimed_fp is not None and not same_stream and prov.get("numpy") == np.__version__:
        # one numpy version has one random stream: a different fingerprint is a false claim, not a
        # reason to stop re-deriving (it cannot turn a wrong seed into exit 3)
        led.fail("provenance.random_stream", claimed_fp, mine, f"numpy {np.__version__} samples exactly this stream")
        same_stream = True
    confirmed: dict[str, bool] = {}
    for k in NAMES:
        claimed = inputs[k].get("sha256")
        a = out.get(k)
        d = digest(a) if a is not None else None
        if d is not None and d == claimed:
            confirmed[k] = True
            led.check(f"inputs.{k}.sha256", claimed, d)
            if k in sampled and npz is not None and k in npz and digest(npz[k]) != d:
                led.fail(f"inputs.{k}", "the .npz copy", "the array the seed regenerates",
                         f"{k} is marked sampled, but the .npz holds another array")
            if k not in sampled and k not in given:
                led.note(f"{k} is marked {safe(inputs[k].get('source'), 20)} but is the array seed "
                         f"{safe(seed, 40)} regenerates: audited as such")
            continue
        confirmed[k] = False
        if k in given:
            led.fail(f"inputs.{k}.sha256", claimed, d, f"the .npz's {k} does not match its digest")
        elif k not in sampled:
            led.cannot(f"inputs.{k}.sha256", f"{k} came from a {safe(inputs[k].get('source'), 20)} array, which no "
                       "seed regenerates, and no .npz holds it",
                       "verify --embed-arrays writes one; or pass --arrays FILE.npz")
        elif not same_stream and claimed_fp is not None:
            if npz is not None and k in npz and digest(npz[k]) == claimed:
                # the .npz holds the certified array: everything but "the seed gives it" is auditable
                out[k] = npz[k]
                confirmed[k] = True
                led.vouch(f"inputs.{k}.sha256")
                led.cannot(f"inputs.{k}", "numpy's random stream differs from the one that wrote the certificate "
                           "(provenance.random_stream): the .npz array matches its digest, but that the seed "
                           "gives it cannot be confirmed here", "audit with the numpy that wrote it")
                continue
            led.cannot(f"inputs.{k}.sha256", "numpy's random stream differs from the one that wrote the certificate "
                       "(provenance.random_stream), so the seed cannot regenerate the arrays here",
                       "rerun with --arrays FILE.npz, or audit with the numpy that wrote it")
        elif k == "y" and a is None and k in sampled and labels == "low":
            led.cannot("inputs.y.sha256", f"y (labels low) is the bottom eigenvector of the m x m H0, which the audit "
                       f"does not form above m = {dense_m} (m = {m})",
                       "audit it where m x m matrices fit: qrcheck.audit(..., dense_m=M)")
        elif k == "y" and labels in BLAS_LABELS and not _same_blas(cert) and all(confirmed.get(j) for j in ("X", "W0", "z0")):
            led.cannot("inputs.y.sha256", f"y (labels {labels}) is computed with BLAS, and this numpy's BLAS differs "
                       "from the certificate's, so its last bits cannot be reproduced",
                       "rerun with --arrays FILE.npz, or audit on the certificate's BLAS")
            confirmed["y~"] = True  # usable within tolerance
        else:
            led.fail(f"inputs.{k}.sha256", claimed, d,
                     f"{k} regenerated from seed {safe(seed, 40)} has another digest (same random stream)")
    if not all(confirmed.get(k) for k in ("X", "W0", "z0")):
        return Arrays(None, "unavailable", confirmed)
    arrays = {k: np.ascontiguousarray(out[k], dtype=np.float64) for k in ("X", "W0", "z0")}
    if confirmed.get("y") or confirmed.get("y~"):
        arrays["y"] = np.ascontiguousarray(out["y"], dtype=np.float64)
    return Arrays(arrays, origin, {k: v for k, v in confirmed.items() if k in NAMES})


def _same_blas(cert: Mapping[str, Any]) -> bool:
    """Whether this numpy's BLAS is the certificate's (``provenance.blas.name`` and ``version``)."""
    blas = (cert.get("provenance") or {}).get("blas") if isinstance(cert.get("provenance"), dict) else None
    if not isinstance(blas, dict):
        return False
    try:
        info = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    except Exception:  # noqa: BLE001 - older numpy
        return False
    return blas.get("name") == info.get("name") and blas.get("version") == info.get("version")


def finite_sizes(n: Any, S: Any, m: Any) -> bool:
    return all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (n, S, m))


def work_bytes(n: int, S: int, m: int, dense_m: int | None = None) -> int:
    """Peak memory of the audit's re-derivation, float64: the arrays, W0 X and its companions (S x m,
    a few); up to ``dense_m`` (None: always) the m x m Gram matrices and eigendecompositions (a
    dozen); above it the row blocks of X^T X (a dozen of b x m, b m <= ``stats.BLOCK_ELEMS``), the
    n x n and S x S Grams and (28)'s sorted copies of W0 X (docs/certificates.md, "Large m")."""
    base = 2 * S * n + 2 * n * m + 8 * S * m + 8 * (S + m + n)
    if dense_m is None or m <= dense_m:
        return 8 * (base + 16 * m * m)
    from .stats import BLOCK_ELEMS

    block = max(1, min(m, BLOCK_ELEMS // m)) * m
    return 8 * (base + 6 * S * m + 12 * block + 8 * n * n + 4 * S * S)


def too_large(n: int, S: int, m: int, dense_m: int | None = None) -> str | None:
    """One line when re-deriving a certificate of these sizes would exceed memory, else None
    (computed from n, S, m before anything is allocated; :func:`work_bytes`)."""
    need = work_bytes(n, S, m, dense_m)
    have = available_bytes()
    if need > have:
        how = "" if dense_m is None or m <= dense_m else " (blocked: no m x m matrix)"
        return (f"n={n}, S={S}, m={m}: re-deriving this certificate needs about {need / 2**30:.1f} GiB{how} "
                f"but {have / 2**30:.1f} GiB is available")
    return None

