"""The certificate: its I/O (:mod:`qrcheck.certificate.io`) and its typed records
(:mod:`qrcheck.certificate.records`).

Every name of :mod:`.io` is re-exported here (``from qrcheck.certificate import parse,
read_certificate, dumps, validate, ...``). The typed records are loaded on first use, so that
importing :mod:`qrcheck.certificate.io` alone (as the independent audit does) imports nothing else
of qrcheck.
"""

from __future__ import annotations

from .io import (ARRAY_NAMES, MAX_CERTIFICATE_BYTES, SCHEMA_FILE, SCHEMA_ID, SCHEMA_IDS, CertificateError,
                 SchemaIssue, _clean, arrays_path, atomic_file, clean, dumps, is_volatile, load_npz, parse,
                 read_certificate, schema, schema_file, schema_id_of, schema_issues, sha256_file, sha256_of,
                 strip_volatile, validate, write_atomic, write_certificate, write_npz_atomic)
from .. import InputError

_RECORDS = ("Certificate", "Parameters", "PropertyRecord", "GDRecord", "GDStatus", "Regime", "Provenance",
            "Verdict", "InputRecord", "ArraysRecord")

__all__ = ["ARRAY_NAMES", "MAX_CERTIFICATE_BYTES", "SCHEMA_FILE", "SCHEMA_ID", "SCHEMA_IDS", "CertificateError",
           "InputError", "SchemaIssue", "arrays_path", "atomic_file", "clean", "dumps", "is_volatile", "load_npz",
           "parse", "read_certificate", "schema", "schema_file", "schema_id_of", "schema_issues", "sha256_file",
           "sha256_of", "strip_volatile", "validate", "write_atomic", "write_certificate", "write_npz_atomic",
           "random_stream_fingerprint", *_RECORDS]


def __getattr__(name: str):
    if name in _RECORDS:
        from . import records

        return getattr(records, name)
    if name == "random_stream_fingerprint":
        from ..draw import random_stream_fingerprint

        return random_stream_fingerprint
    raise AttributeError(f"module 'qrcheck.certificate' has no attribute {name!r}")
