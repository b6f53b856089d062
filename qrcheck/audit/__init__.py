"""``qrcheck audit``: the independent audit kernel (issue 11; docs/certificates.md).

A trusted, simple and slow re-derivation of every claim of a certificate, written from
../shared/CONTRACT.md and the paper, importing only numpy, scipy, the stdlib and
``qrcheck.certificate.io`` (never the verify side). Modules: :mod:`.ledger` (findings, coverage, exit
code), :mod:`.text` (safe rendering), :mod:`.arrays` (sampler, digests, .npz), :mod:`.enclose`
(rigorous float64 bounds), :mod:`.stats` (statistics of (19)-(30)), :mod:`.props` (their
re-derivation and the status rule), :mod:`.thresholds` (built-in profiles, versioned formulas),
:mod:`.regime` (Theorem 2.3), :mod:`.replay` (GD bookkeeping, reference replay), :mod:`.kernel`
(the stages and :func:`audit`).
"""

from __future__ import annotations

from .. import _callable_module

# qrcheck.audit(path) is the Python API's function (docs/api.md): importing this package binds the
# name qrcheck.audit to it, so the package itself is made callable
_callable_module(__name__, "audit")

__all__ = ["audit", "AuditReport", "Outcome", "Mismatch", "Ledger", "REPLAY_MAX_STEPS"]


def __getattr__(name: str):
    if name in ("audit", "AuditReport", "Outcome", "REPLAY_MAX_STEPS"):
        from . import kernel

        return getattr(kernel, name)
    if name in ("Mismatch", "Ledger", "RTOL"):
        from . import ledger

        return getattr(ledger, name)
    raise AttributeError(f"module 'qrcheck.audit' has no attribute {name!r}")
