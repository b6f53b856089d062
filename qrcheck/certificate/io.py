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
import signal
import stat
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import IO, Any, Callable, Iterator, Mapping

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
        with open_regular(p, max_bytes=MAX_CERTIFICATE_BYTES, what="certificate") as fh:
            data = fh.read()
    except InputError as exc:
        raise CertificateError(str(exc)) from None
    cert = parse(data)
    if not isinstance(cert, dict):
        raise CertificateError(f"not a certificate: {p} holds a JSON {type(cert).__name__}, not an object")
    tag = cert.get("schema")
    if tag not in SCHEMA_IDS:
        shown = tag if isinstance(tag, str) and len(tag) < 80 else type(tag).__name__
        raise CertificateError(f"not a certificate: 'schema' is {shown!r}, expected "
                               + " or ".join(repr(t) for t in SCHEMA_IDS[::-1]))
    return cert


# ---- files: what a path is, reading only regular files ------------------------------------------
def file_kind(mode: int) -> str:
    """What ``stat``'s ``st_mode`` says a path is, in words: ``a regular file``, ``a folder``,
    ``a FIFO (named pipe)``, ``a character device``, ``a block device``, ``a socket``."""
    for test, name in ((stat.S_ISREG, "a regular file"), (stat.S_ISDIR, "a folder"),
                       (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


@contextlib.contextmanager
def open_regular(path: str | Path, *, max_bytes: int | None = None, what: str = "file") -> Iterator[IO[bytes]]:
    """Open ``path`` for reading in binary mode, but only if it is a regular file of at most
    ``max_bytes`` bytes: a FIFO, a device (``/dev/zero``, ``/dev/urandom``), a socket or a folder is
    refused with one line (:class:`InputError`), never read. The file is opened non-blocking (so
    opening a FIFO cannot hang) and checked with ``fstat`` on the opened descriptor (so the check
    and the read see the same file)."""
    p = Path(path)
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputError(f"cannot read {p}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{p} is a folder, not a {what}") from None
    except OSError as exc:
        raise InputError(f"cannot read {p}: {exc.strerror or exc.__class__.__name__}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"{p} is {file_kind(st.st_mode)}, not a regular file; qrcheck reads a {what} "
                             "only from a regular file")
        if max_bytes is not None and st.st_size > max_bytes:
            raise InputError(f"{p} is {st.st_size / 2**20:.1f} MiB, larger than any {what} it could be "
                             f"(limit {max_bytes / 2**20:.1f} MiB)")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        fh = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with fh:
        yield fh


# ---- output paths: never replace what is not ours to replace ---------------------------------------
def writable_by_mode(st: os.stat_result) -> bool:
    """Whether the permission bits of a file let this process write it. Root is not exempt: a
    read-only file is not replaced just because root could."""
    if st.st_uid == os.geteuid():
        return bool(st.st_mode & stat.S_IWUSR)
    if st.st_gid == os.getegid() or st.st_gid in os.getgroups():
        return bool(st.st_mode & stat.S_IWGRP)
    return bool(st.st_mode & stat.S_IWOTH)


def check_output(path: str | Path, flag: str) -> Path:
    """Check a path qrcheck will write (``--out``, ``--export-graph``, ``CERT.arrays.npz``) before
    any work, and return the path to write: symbolic links are followed (the link's target is
    replaced, the link stays). Raises :class:`InputError` (one line) unless the target's folder
    exists and is writable and the target is absent or a regular file whose permission bits let us
    write it: a folder, FIFO, device or socket is never replaced, nor a read-only file."""
    p = Path(path)
    if not str(path) or p.name in ("", ".", ".."):
        raise InputError(f"{flag}: {str(path)!r} is not a file name")
    target = Path(os.path.realpath(p))
    folder = target.parent
    if not folder.is_dir():
        raise InputError(f"{flag}: folder {p.parent} does not exist")
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise InputError(f"{flag}: cannot inspect {p}: {exc.strerror or exc.__class__.__name__}") from None
    if st is not None:
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"{flag}: {p} is {file_kind(st.st_mode)}; qrcheck writes only regular files "
                             "and never replaces anything else: choose another path")
        if not writable_by_mode(st):
            raise InputError(f"{flag}: {p} is read-only (owner uid {st.st_uid}, mode {stat.filemode(st.st_mode)}); "
                             "qrcheck does not replace it: remove it or choose another path")
    if not os.access(folder, os.W_OK):
        raise InputError(f"{flag}: folder {folder} is not writable")
    return target


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name one file: the same path after following links, or (both existing)
    the same inode (a hard link)."""
    ra, rb = os.path.realpath(a), os.path.realpath(b)
    if ra == rb:
        return True
    try:
        return os.path.samefile(ra, rb)
    except OSError:
        return False


def check_distinct(outputs: Mapping[str, str | Path | None], inputs: Mapping[str, str | Path | None] = {}) -> None:
    """Raise :class:`InputError` when two outputs (flag -> path) name the same file, or an output
    names one of the inputs (flag -> path): qrcheck never writes one output over another, nor over
    what it reads."""
    outs = [(f, p) for f, p in outputs.items() if p is not None]
    for i, (fa, pa) in enumerate(outs):
        for fb, pb in outs[i + 1:]:
            if same_file(pa, pb):
                raise InputError(f"{fa} and {fb} name the same file {pa}; give them different paths")
        for fb, pb in inputs.items():
            if pb is not None and same_file(pa, pb):
                raise InputError(f"{fa} {pa} is the input {fb}; qrcheck never writes over its inputs")


ARRAYS_FILE_PATTERN = r"^[^/\\]+\.npz$"   # the schema's arrays.file


def check_arrays_target(cert_path: str | Path) -> Path:
    """``--embed-arrays``: check where the arrays of ``cert_path`` will go (:func:`arrays_path`)
    before any work. The file must be a name the certificate can record, pass
    :func:`check_output`, and, if it exists, be the arrays of the certificate now at ``cert_path``
    (named there with a matching sha256): then the pair is replaced together. Any other existing
    ``CERT.arrays.npz`` is somebody else's and is not replaced (:class:`InputError`)."""
    import re

    npz = arrays_path(cert_path)
    if not re.match(ARRAYS_FILE_PATTERN, npz.name):
        raise InputError(f"--embed-arrays: the certificate cannot record the arrays file name {npz.name!r} "
                         "(no '/' or '\\'); choose another --out")
    target = check_output(npz, "--embed-arrays")
    if os.path.lexists(npz):
        try:
            old = read_certificate(cert_path)
            rec = old.get("arrays")
            ours = (isinstance(rec, dict) and rec.get("file") == npz.name
                    and rec.get("sha256") == sha256_file(target))
        except (InputError, OSError):
            ours = False
        if not ours:
            raise InputError(f"--embed-arrays: {npz} exists and is not the arrays of the certificate at "
                             f"{cert_path}; qrcheck does not replace it: move it away or choose another --out")
    return target


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
    remove it. A killed run never leaves a half-written file at ``path``. Only a regular file (or
    nothing) at ``path`` is ever replaced: a folder, FIFO, device or socket there is refused
    (:class:`InputError`) before anything is written."""
    path = Path(path)
    _refuse_special(path)
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
    with open_regular(path) as fh:   # never a FIFO or a device (which would not end)
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
    with atomic_file(path, "wb") as fh:
        _write_npz(fh, arrays)
    return sha256_file(path)


def _write_npz(fh: IO[bytes], arrays: Mapping[str, np.ndarray]) -> None:
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.ascontiguousarray(arrays[name], dtype="<f8"),
                                          allow_pickle=False)


def _refuse_special(path: Path) -> None:
    """Raise :class:`InputError` when something other than a regular file is at ``path``."""
    try:
        st = os.stat(path)
    except OSError:
        return
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{path} is {file_kind(st.st_mode)}; qrcheck replaces only regular files")


def _temp_beside(path: Path) -> tuple[int, str]:
    """A new temporary file ``.NAME.*.tmp`` in ``path``'s folder, with ordinary permissions."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        _default_mode(fd)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    return fd, tmp


def _backup(path: Path) -> str:
    """A second name (hard link, else a copy) for the file at ``path``, to restore it from."""
    fd, bk = _temp_beside(path)
    os.close(fd)
    os.unlink(bk)
    try:
        os.link(path, bk)
    except OSError:
        import shutil

        shutil.copy2(path, bk)
    return bk


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """SIGINT and SIGTERM that arrive inside the block take effect when it ends (so a pair of
    renames is never interrupted half-way). Only in the main thread (elsewhere: no effect)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got: list[int] = []
    sigs = [s for s in (signal.SIGINT, getattr(signal, "SIGTERM", None)) if s is not None]
    old = {s: signal.getsignal(s) for s in sigs}
    for s in sigs:
        signal.signal(s, lambda signum, frame: got.append(signum))
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)
        if got:
            signal.raise_signal(got[0])


def write_with_arrays(path: str | Path, text_for: Callable[[dict | None], str],
                      arrays: Mapping[str, np.ndarray] | None = None) -> dict | None:
    """Write a certificate and, with ``arrays``, its ``CERT.arrays.npz`` (:func:`arrays_path`):
    both or neither.

    1. The arrays go to a temporary file beside the npz; its name and sha256 make the record
       ``{"file", "sha256"}`` (None without arrays).
    2. ``text_for(record)`` returns the certificate's text; it validates, and whatever it raises
       leaves nothing written.
    3. The text goes to a temporary file beside ``path``.
    4. With SIGINT/SIGTERM deferred, the npz is renamed into place (an old one kept under a
       temporary second name), then the certificate; if that rename fails, the old npz is put back
       (or the new one removed). Temporary files never outlive the call.

    A SIGKILL or power loss between the two renames (microseconds) can leave the new npz beside the
    old certificate; ``audit`` reports that as a digest mismatch. Returns the record. Raises
    :class:`CertificateError` (``nothing written``) on an OS error.
    """
    path = Path(path)
    npz = arrays_path(path) if arrays is not None else None
    for target in (path, npz):
        if target is not None:
            _refuse_special(target)
    tmp_npz = tmp_cert = backup = None
    try:
        record = None
        if npz is not None:
            fd, tmp_npz = _temp_beside(npz)
            with os.fdopen(fd, "wb") as fh:
                _write_npz(fh, arrays)
            record = {"file": npz.name, "sha256": sha256_file(tmp_npz)}
        text = text_for(record)
        fd, tmp_cert = _temp_beside(path)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        with signals_deferred():
            replaced = False
            if npz is not None:
                if os.path.lexists(npz):
                    backup = _backup(npz)
                os.replace(tmp_npz, npz)
                tmp_npz, replaced = None, True
            try:
                os.replace(tmp_cert, path)
                tmp_cert = None
            except BaseException:
                if replaced:
                    if backup is not None:
                        os.replace(backup, npz)
                        backup = None
                    else:
                        os.unlink(npz)
                raise
        return record
    except OSError as exc:
        raise CertificateError(f"cannot write {path}: {exc.strerror or exc}; nothing written") from None
    finally:
        for t in (tmp_npz, tmp_cert, backup):
            if t is not None:
                try:
                    os.unlink(t)
                except OSError:
                    pass


def load_npz(path: str | Path, expected: Mapping[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    """Load the arrays of an .npz safely: no pickles, only the names in ``expected``, and each
    array's header (shape, dtype) is checked against ``expected`` *before* its data is read, so a
    hostile file cannot make us allocate more than the certificate's own sizes. Only a regular
    file is read (:func:`open_regular`: a FIFO or a device such as ``/dev/zero`` is refused before
    any read), and only one no larger than the arrays could make it (twice their float64 bytes plus
    1 MiB). Raises :class:`InputError` on anything else."""
    p = Path(path)
    limit = 2 * 8 * sum(int(np.prod(s, dtype=object)) for s in expected.values()) + 2**20
    try:
        with open_regular(p, max_bytes=limit, what=".npz of arrays") as src, zipfile.ZipFile(src) as zf:
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

    With ``embed_arrays`` (X, W0, z0, y), also write them to :func:`arrays_path` and record that
    file's name and sha256 under ``arrays``: both files or neither (:func:`write_with_arrays`).
    Returns the certificate as written. Raises :class:`CertificateError` (and writes nothing) if
    the certificate breaks the schema or cannot be written.
    """
    cert = dict(cert)

    def text_for(record: dict | None) -> str:
        if record is not None:
            cert["arrays"] = record
        text = dumps(cert)
        issues = schema_issues(json.loads(text), limit=1)
        if issues:
            raise CertificateError(f"internal error: the certificate breaks schema {schema_id_of(cert)} at "
                                   f"{issues[0].path}: {issues[0].message}; nothing written")
        return text

    write_with_arrays(path, text_for, embed_arrays)
    return cert
