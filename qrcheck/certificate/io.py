"""Certificate I/O: canonical JSON, strict parsing, the schema, atomic writes, .npz, digests.

This is the one home of every byte that goes to or comes from disk; the independent audit
(:mod:`qrcheck.audit`) imports only this module (plus numpy/scipy/stdlib), so it imports nothing
else of qrcheck.

Canonical form: sorted keys, Python's round-trip float repr, no NaN/inf (they become null), UTF-8,
a trailing newline. The same inputs give byte-identical certificates apart from ``created`` and the
timing fields (:func:`strip_volatile`).

The schemas (JSON Schema Draft 2020-12) ship inside the package as
``qrcheck/schema/qrcheck.certificate.N.json``; ``certificates/schema/`` in the repository holds
the same files for readers (a test keeps them identical). New certificates are written as
:data:`SCHEMA_ID`; every version in :data:`SCHEMA_IDS` can be read. A certificate is validated
against the schema its own ``schema`` tag names, when written (:func:`write_certificate`) and when
audited.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import tempfile
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import IO, Any, Iterator, Mapping

import numpy as np

from .. import InputError

SCHEMA_ID = "qrcheck.certificate/2"
SCHEMA_IDS = ("qrcheck.certificate/1", "qrcheck.certificate/2")
SCHEMA_FILE = "qrcheck.certificate.2.json"


def schema_file(schema_id: str = SCHEMA_ID) -> str:
    """File name of the schema of version ``schema_id``: ``qrcheck.certificate.N.json``."""
    return schema_id.replace("/", ".") + ".json"

ARRAY_NAMES = ("X", "W0", "z0", "y")
# certificates larger than this are refused before they are read (the design card is ~40 kB)
MAX_CERTIFICATE_BYTES = 64 * 2**20


class CertificateError(InputError):
    """The file is unreadable or is not a qrcheck certificate (``audit``/``show`` exit 2)."""


@dataclass(frozen=True)
class SchemaIssue:
    """One schema violation: where (a JSON path such as ``properties.22.status``) and what."""

    path: str
    message: str
    value: Any


def sha256_of(a: np.ndarray) -> str:
    """sha256 of ``a``'s C-order little-endian float64 bytes (CONTRACT, ``inputs.*.sha256``)."""
    b = np.ascontiguousarray(a, dtype="<f8")
    return hashlib.sha256(b.tobytes(order="C")).hexdigest()


def clean(obj: Any) -> Any:
    """JSON-ready copy: mappings to dicts, numpy scalars to Python, non-finite floats to None,
    tuples to lists."""
    if isinstance(obj, Mapping):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return clean(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if math.isfinite(f) else None
    return obj


_clean = clean  # the old private name (qrcheck.audit imports it)


def dumps(cert: Any) -> str:
    """Canonical JSON text of a certificate."""
    return json.dumps(clean(cert), sort_keys=True, indent=1, allow_nan=False, ensure_ascii=False) + "\n"


def is_volatile(key: str) -> bool:
    """Keys whose values legitimately differ between two identical runs: the creation time and
    every timing field (any key containing ``seconds``: ``gd.wall_seconds``, ``gd.seconds_per_step``,
    search timings) and memory measurements (any key containing ``rss``: ``gd.peak_rss_bytes``)."""
    return key == "created" or "seconds" in key or "rss" in key


def strip_volatile(obj: Any) -> Any:
    """Copy of a certificate without its volatile keys (:func:`is_volatile`), at any depth."""
    if isinstance(obj, dict):
        return {k: strip_volatile(v) for k, v in obj.items() if not is_volatile(str(k))}
    if isinstance(obj, list):
        return [strip_volatile(v) for v in obj]
    return obj


# ---- schema ---------------------------------------------------------------------------------
@lru_cache(maxsize=None)
def schema(schema_id: str = SCHEMA_ID) -> dict:
    """The JSON Schema of version ``schema_id`` (package data, no network, no $ref fetching)."""
    if schema_id not in SCHEMA_IDS:
        raise CertificateError(f"unknown certificate schema {schema_id!r}; known: {', '.join(SCHEMA_IDS)}")
    text = resources.files("qrcheck").joinpath("schema", schema_file(schema_id)).read_text(encoding="utf-8")
    return json.loads(text)


@lru_cache(maxsize=None)
def _validator(schema_id: str = SCHEMA_ID):
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(schema(schema_id))
    return Draft202012Validator(schema(schema_id))


def schema_id_of(cert: Any) -> str:
    """The schema version a certificate claims, when it is one this release reads, else the
    current :data:`SCHEMA_ID` (so the issues of a wrongly tagged file are reported against it)."""
    tag = cert.get("schema") if isinstance(cert, dict) else None
    return tag if tag in SCHEMA_IDS else SCHEMA_ID


def _path(parts) -> str:
    return ".".join(str(p) for p in parts) or "(root)"


def schema_issues(cert: Any, limit: int = 50) -> list[SchemaIssue]:
    """Every way ``cert`` breaks the schema its ``schema`` tag names (at most ``limit``), sorted by
    path."""
    issues = []
    for e in _validator(schema_id_of(cert)).iter_errors(cert):
        issues.append(SchemaIssue(_path(e.absolute_path), e.message if len(e.message) < 300 else
                                  e.message[:297] + "...", e.instance))
        if len(issues) >= limit:
            break
    return sorted(issues, key=lambda i: i.path)


def validate(cert: Any) -> None:
    """Raise :class:`CertificateError` naming the first schema violation of ``cert``."""
    issues = schema_issues(cert, limit=1)
    if issues:
        raise CertificateError(f"certificate does not match schema {schema_id_of(cert)} at {issues[0].path}: "
                               f"{issues[0].message}")


# ---- reading --------------------------------------------------------------------------------
def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k[:80]!r}")
        out[k] = v
    return out


def parse(text: str | bytes) -> Any:
    """Strict JSON: no NaN/Infinity constants, no object with a repeated key (which would let two
    readers see two different certificates); raises :class:`CertificateError` on anything else
    unparsable."""
    try:
        return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)
    except RecursionError:
        raise CertificateError("not a certificate: JSON nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise CertificateError(f"not valid JSON: {msg[:200]}") from None


def read_certificate(path: str | Path) -> dict:
    """Read a file that claims to be a certificate: it must be at most
    :data:`MAX_CERTIFICATE_BYTES`, strict JSON, an object, and carry a ``schema`` tag of
    :data:`SCHEMA_IDS` (``"qrcheck.certificate/1"`` or ``/2``).
    Schema conformance is *not* checked here (see :func:`schema_issues`)."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if not p.is_file():
            raise CertificateError(f"{p} is not a file")
        if size > MAX_CERTIFICATE_BYTES:
            raise CertificateError(f"{p} is {size / 2**20:.0f} MiB, larger than any certificate "
                                   f"(limit {MAX_CERTIFICATE_BYTES // 2**20} MiB)")
        data = p.read_bytes()
    except OSError as exc:
        raise CertificateError(f"cannot read {p}: {exc.strerror or exc.__class__.__name__}") from None
    cert = parse(data)
    if not isinstance(cert, dict):
        raise CertificateError(f"not a certificate: {p} holds a JSON {type(cert).__name__}, not an object")
    tag = cert.get("schema")
    if tag not in SCHEMA_IDS:
        shown = tag if isinstance(tag, str) and len(tag) < 80 else type(tag).__name__
        raise CertificateError(f"not a certificate: 'schema' is {shown!r}, expected "
                               + " or ".join(repr(t) for t in SCHEMA_IDS[::-1]))
    return cert


# ---- writing --------------------------------------------------------------------------------
def _default_mode(fd: int) -> None:
    """Give a temporary file the permissions a plain ``open`` would (0666 less the umask), not
    ``mkstemp``'s private 0600."""
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(fd, 0o666 & ~umask)


@contextlib.contextmanager
def atomic_file(path: str | Path, mode: str = "w") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success rename it to ``path``, on any failure
    remove it. A killed run never leaves a half-written file at ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        _default_mode(fd)
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` through a temporary file in the same
    folder and a rename: the one atomic writer of qrcheck (JSON, .npz, tables, figures)."""
    with atomic_file(path, "wb" if isinstance(data, bytes) else "w") as fh:
        fh.write(data)


def sha256_file(path: str | Path) -> str:
    """sha256 of a file's bytes, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def arrays_path(cert_path: str | Path) -> Path:
    """Where ``--embed-arrays`` puts the arrays of ``CERT.json``: ``CERT.arrays.npz`` beside it."""
    p = Path(cert_path)
    return p.with_name(p.stem + ".arrays.npz")


def write_npz_atomic(path: str | Path, arrays: Mapping[str, np.ndarray]) -> str:
    """Write ``arrays`` as a compressed .npz (each as little-endian float64, no pickles) through a
    temporary file and a rename; returns the file's sha256.

    Zip entries carry a fixed timestamp (1980-01-01), so the same arrays give the same bytes and
    the same digest on every run (``numpy.savez_compressed`` stamps the current time).
    """
    with atomic_file(path, "wb") as fh, zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.ascontiguousarray(arrays[name], dtype="<f8"),
                                          allow_pickle=False)
    return sha256_file(path)


def load_npz(path: str | Path, expected: Mapping[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    """Load the arrays of an .npz safely: no pickles, only the names in ``expected``, and each
    array's header (shape, dtype) is checked against ``expected`` *before* its data is read, so a
    hostile file cannot make us allocate more than the certificate's own sizes. Raises
    :class:`InputError` on anything else."""
    p = Path(path)
    try:
        with zipfile.ZipFile(p) as zf:
            out: dict[str, np.ndarray] = {}
            for info in zf.infolist():
                name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                if name not in expected:
                    raise InputError(f"{p}: unexpected entry {info.filename!r} (expected {', '.join(expected)})")
                with zf.open(info) as fh:
                    version = np.lib.format.read_magic(fh)
                    if version == (1, 0):
                        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
                    else:
                        shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
                    if dtype.hasobject or dtype.kind not in "fiu":
                        raise InputError(f"{p}: {name} is not a real numeric array ({dtype})")
                    if tuple(shape) != tuple(expected[name]):
                        raise InputError(f"{p}: {name} has shape {tuple(shape)}, the certificate says "
                                         f"{tuple(expected[name])}")
                    count = int(np.prod(shape))
                    raw = fh.read(count * dtype.itemsize)
                    if len(raw) != count * dtype.itemsize:
                        raise InputError(f"{p}: {name} is truncated")
                    a = np.frombuffer(raw, dtype=dtype, count=count)
                    a = a.reshape(shape[::-1]).T if fortran else a.reshape(shape)
                    out[name] = np.ascontiguousarray(a, dtype=np.float64)
    except InputError:
        raise
    except (OSError, zipfile.BadZipFile, ValueError, EOFError, KeyError) as exc:
        raise InputError(f"cannot read {p} as an .npz of arrays ({exc.__class__.__name__}: "
                         f"{str(exc)[:120]})") from None
    return out


def write_certificate(path: str | Path, cert: dict,
                      embed_arrays: Mapping[str, np.ndarray] | None = None) -> dict:
    """Validate ``cert`` against the schema and write it atomically in canonical form.

    With ``embed_arrays`` (X, W0, z0, y), first write them to :func:`arrays_path` (atomically) and
    record that file's name and sha256 under ``arrays``. Returns the certificate as written.
    Raises :class:`CertificateError` (and writes nothing) if the certificate breaks the schema.
    """
    cert = dict(cert)
    if embed_arrays is not None:
        npz = arrays_path(path)
        cert["arrays"] = {"file": npz.name, "sha256": write_npz_atomic(npz, embed_arrays)}
    text = dumps(cert)
    issues = schema_issues(json.loads(text), limit=1)
    if issues:
        raise CertificateError(f"internal error: the certificate breaks schema {schema_id_of(cert)} at "
                               f"{issues[0].path}: {issues[0].message}; nothing written")
    write_atomic(path, text)
    return cert
