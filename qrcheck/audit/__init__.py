"""``qrcheck audit``: the independent audit kernel (issue 11; docs/certificates.md).

Interim: until the kernel's entry point lands, :func:`audit` is served by the previous
implementation (``_legacy``), loaded lazily so that importing ``qrcheck.audit.ledger`` imports
nothing else.
"""

from __future__ import annotations


def __getattr__(name: str):
    if name in ("audit", "Outcome", "AuditReport", "Mismatch", "RTOL", "RTOL_GD", "REPLAY_MAX_STEPS"):
        from . import _legacy

        return getattr(_legacy, name)
    raise AttributeError(f"module 'qrcheck.audit' has no attribute {name!r}")
