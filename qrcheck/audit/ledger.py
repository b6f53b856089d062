"""The audit's ledger: every comparison, failure, impossibility and vouched key of one audit.

Every part of the audit kernel (loader, statistics, thresholds, regime, GD replay, plugins) reports
into one :class:`Ledger`; the ledger alone decides the exit code and the coverage.

Paths
-----
A *path* names one place in the certificate: keys joined by ``.``, list positions as ``[i]``, e.g.
``"properties.22.status"``, ``"gd.error_trajectory[3]"``, ``"regime.bounds.eta_w.holds"``. Build
paths with :func:`join` (it quotes a key holding ``.``, ``[`` or odd characters as ``["..."]``).
:meth:`Ledger.claim` reads the certificate's value at a path (or :data:`MISSING`).

Interface (what the other audit modules call)
---------------------------------------------
``check(path, claimed, recomputed, *, rtol=RTOL, atol=0.0, why="") -> bool``
    Compare a claim with the audit's own recomputation and record a mismatch if they differ; vouch
    ``path`` either way (it *was* re-derived). Rules (:func:`agree`): ``claimed is MISSING`` (the key
    is absent) always differs; ``None`` equals only ``None``; a bool only the same bool; a str only
    the same str; two ints (not bools) must be equal; numbers with a float among them agree when
    ``|c - r| <= atol + rtol * max(|c|, |r|)`` (so a str or bool where a number belongs differs); lists
    must have the same length and agree elementwise; a dict ``recomputed`` needs every one of its keys
    in ``claimed`` with agreeing values (extra claimed keys are not compared, and not vouched).
``check_at(path, recomputed, **kw) -> bool``
    ``check(path, self.claim(path), recomputed, **kw)``.
``fail(path, claimed, recomputed, why="")``
    Record a mismatch without a comparison (e.g. "index out of range"); vouches ``path``.
``cannot(path, why, fix)``
    A claim that truly cannot be re-derived on this machine (say numpy's random stream changed and
    no arrays were given). Exit 3 when nothing failed. Never for a claim that merely *says* it cannot
    be checked. Does not vouch ``path``.
``vouch(path)``
    Mark ``path`` (and everything under it) as re-derived, when it was checked by other means than
    :meth:`check` (e.g. a value the audit used as an input after validating it).
``skip(path, reason)``
    A key the audit does not re-derive at this size (say an m x m eigenvalue above
    :data:`qrcheck.audit.stats.DENSE_M`): listed in :meth:`Ledger.not_vouched` with ``reason``, never
    counted as checked. Only for keys no status, gating or verdict depends on; a claim that does
    depend on it raises :class:`Unverifiable` (a ``cannot``).
``note(text)``
    Informational line (version notices, what was regenerated).
``guard(path)``
    Context manager: any exception while re-deriving ``path`` becomes a mismatch row at ``path``
    (hostile input never crashes the audit); :class:`Unusable` carries a readable reason;
    :class:`Unverifiable` becomes a ``cannot`` at ``path`` (exit 3 when nothing failed).

Coverage
--------
:meth:`Ledger.unvouched` walks every key of the certificate and returns the paths neither vouched
(nor under a vouched path) nor matching one of the documented :data:`NOT_VOUCHED` patterns; the
audit prints them as "not checked". A subtree none of whose claims was re-derived (documented keys
and empty containers aside) is reported once, by its own path. :meth:`Ledger.not_vouched` lists the keys skipped by pattern,
with the reason.

Exit code
---------
:attr:`Ledger.exit_code`: 1 if any mismatch, else 3 if any ``cannot``, else 0 (exit 2, an unreadable
file, is raised before a ledger exists).
"""

from __future__ import annotations

import contextlib
import fnmatch
import math
import re
from dataclasses import dataclass
from typing import Any, Iterator

from .text import safe, show

RTOL = 1e-8
"""Default relative tolerance of :meth:`Ledger.check` for floats (far above float64 noise of these
computations, far below any change that matters)."""


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()
"""The value of a key the certificate does not have."""

# keys audit does not vouch for, with the reason (fnmatch patterns over paths; '*' crosses dots)
NOT_VOUCHED: dict[str, str] = {
    "created": "the creation time records, it does not claim",
    "*seconds*": "timings depend on the machine",
    "*.timing*": "timings depend on the machine",
    "provenance.qrcheck": "version strings of the software that wrote the certificate record, not claim",
    "provenance.python": "version string (record)",
    "provenance.numpy": "version string (record)",
    "provenance.scipy": "version string (record)",
    "provenance.blas*": "the BLAS numpy was built with (record)",
    "provenance.platform*": "platform string (record)",
    "provenance.command*": "the command line (record)",
    "provenance.argv*": "the command line (record)",
    "provenance.hostname*": "host name (record)",
    "provenance.profile.description": "free text",
    "provenance.profile.source": "free text: a built-in name is audited as the built-in whatever it says",
    "provenance.search_effort*": "how hard the untrusted search tried; audit re-checks what it found",
    "properties.*.reason": "free text",
    "regime.explanation": "free text: the sentence restates regime.case, .conditions and .theorem_applies, "
                          "which are re-derived",
    "properties.*.found_by": "free text (which search found the witness)",
    "properties.*.g_formula": "free text (the formula of g in words)",
    "properties.*.description": "free text",
    "properties.*.name": "free text (the property's name)",
    "properties.*.method": "free text (how the untrusted side computed it)",
    "properties.*.details.effort*": "how hard the untrusted search tried",
    "properties.*.details.budget_cut": "depends on the machine's speed",
    "properties.*.details.work_cut": "whether the untrusted search's work cap stopped it (how much it examined; "
                                     "what it found is checked)",
    "properties.*.details.examined*": "how much the untrusted search examined",
    "properties.*.details.restarts*": "how much the untrusted search examined",
    "properties.*.details.note*": "free text",
    "verdict_note*": "free text",
    "*peak_rss*": "memory use depends on the machine",
    "gd.spectral.*.matvecs": "how the untrusted eigensolver worked (the values it found are checked)",
    "gd.spectral.*.method": "how the untrusted eigensolver worked",
    "gd.spectral.*.converged": "how the untrusted eigensolver worked",
    "gd.spectral.*.residual": "how the untrusted eigensolver worked",
    "gd.spectral.*_kind": "how the untrusted eigensolver worked",
    "gd.reason": "free text (its gating is re-derived from parameters and statuses)",
    "properties.20.details.cluster_size*": "a search heuristic (which k the Gram matrix suggests)",
    "properties.20.details.per_k[[]*[]].cluster_size": "a search heuristic (which k the Gram matrix suggests)",
    "properties.20.details.upper_attained_at_k": "where the untrusted per-k bound peaks (the bound itself is checked "
                                                 "against the audit's own over every k)",
    "properties.25.details.open_signs_left": "the untrusted side's refinement bookkeeping (the audit resolves "
                                              "every sign itself)",
    "properties.25.details.recomputed_exactly": "the untrusted side's refinement bookkeeping",
    "properties.29.details.G0_error": "the untrusted side's own error bound (its enclosure lower/upper is checked)",
    "properties.*.details.*_residual": "how the untrusted eigensolver worked (an iterative value's residual)",
    "properties.*.details.limit_kernels": "free text (why the limit kernels were not computed)",
    "diagnostics.*_residual": "how the untrusted eigensolver worked (an iterative value's residual)",
    "diagnostics.*.limit_kernels": "free text (why the limit kernels were not computed)",
    "properties.*.details.*_rule": "free text (the rule in words)",
    "diagnostics.notes*": "advice in words (issue 14)",
    "diagnostics.gd_stop.words": "advice in words (issue 14)",
    "diagnostics.gd_stop.suggested_*": "advice: a rate to try after an early stop",
    "diagnostics.*.method": "how the untrusted eigensolver worked",
    "baseline.*": "the random baseline (issue 14): K fresh draws checked by the untrusted side, each repeatable "
                  "with qrcheck verify --seed baseline.seeds[k]; the verdict's far-outside clause is re-derived "
                  "from the recorded values",
    "dataset.*": "where X came from (issue 14: package, version, subsample indices); X and y are checked "
                 "against their digests",
    "parameters.dataset": "the bundled data set X came from (issue 14; X is checked against its digest)",
    "parameters.center": "centring of the data set (issue 14; X is checked against its digest)",
    "parameters.baseline": "the size K of the random baseline (issue 14)",
    "notes*": "free text",
}

_PLAIN_KEY = re.compile(r"[A-Za-z0-9_\-+]+\Z")


def join(*parts: str | int) -> str:
    """Path of ``parts``: str keys joined by ``.`` (a key with odd characters as ``["..."]``), int
    parts as list positions ``[i]``. ``join("properties", "22", "status")`` ->
    ``"properties.22.status"``; ``join("gd.error_trajectory", 3)`` -> ``"gd.error_trajectory[3]"``;
    a first part that already is a path is kept as it is."""
    out = ""
    for i, p in enumerate(parts):
        if isinstance(p, int) and not isinstance(p, bool):
            out += f"[{p}]"
        elif i == 0:
            out = str(p)
        elif _PLAIN_KEY.match(str(p)):
            out += ("." if out else "") + str(p)
        else:
            out += '["' + safe(p, 60).replace('"', '\\"') + '"]'
    return out


def _key(k: str) -> str:
    return k if _PLAIN_KEY.match(k) else '["' + safe(k, 60).replace('"', '\\"') + '"]'


def _split(path: str) -> list[str | int]:
    """Inverse of :func:`join` for plain paths (quoted keys are matched by their escaped text)."""
    parts: list[str | int] = []
    for tok in re.findall(r'\["(?:[^"\\]|\\.)*"\]|\[\d+\]|[^.\[\]]+', path):
        if tok.startswith('["'):
            parts.append(tok)  # compared with _key() of real keys
        elif tok.startswith("["):
            parts.append(int(tok[1:-1]))
        else:
            parts.append(tok)
    return parts


def is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def agree(claimed: Any, recomputed: Any, rtol: float = RTOL, atol: float = 0.0) -> bool:
    """The comparison rule of :meth:`Ledger.check` (see the module docstring). numpy scalars and
    arrays in ``recomputed`` are accepted; a non-finite recomputed float stands for JSON ``null``."""
    try:
        import numpy as np  # only for numpy scalars/arrays handed in by callers
    except ImportError:  # pragma: no cover
        np = None
    if np is not None:
        if isinstance(recomputed, np.ndarray):
            recomputed = recomputed.tolist()
        elif isinstance(recomputed, np.bool_):
            recomputed = bool(recomputed)
        elif isinstance(recomputed, np.integer):
            recomputed = int(recomputed)
        elif isinstance(recomputed, np.floating):
            recomputed = float(recomputed)
    if isinstance(recomputed, float) and not math.isfinite(recomputed):
        recomputed = None
    if claimed is MISSING:
        return False
    if recomputed is None or claimed is None:
        return claimed is None and recomputed is None
    if isinstance(recomputed, bool) or isinstance(claimed, bool):
        return type(claimed) is type(recomputed) and claimed == recomputed
    if isinstance(recomputed, str) or isinstance(claimed, str):
        return isinstance(claimed, str) and isinstance(recomputed, str) and claimed == recomputed
    if is_number(recomputed):
        if not is_number(claimed):
            return False
        if isinstance(claimed, int) and isinstance(recomputed, int):
            return claimed == recomputed
        try:
            c, r = float(claimed), float(recomputed)
        except OverflowError:
            return False
        if not (math.isfinite(c) and math.isfinite(r)):
            return False
        return abs(c - r) <= atol + rtol * max(abs(c), abs(r))
    if isinstance(recomputed, (list, tuple)):
        return isinstance(claimed, list) and len(claimed) == len(recomputed) and all(
            agree(c, r, rtol, atol) for c, r in zip(claimed, recomputed))
    if isinstance(recomputed, dict):
        return isinstance(claimed, dict) and all(
            k in claimed and agree(claimed[k], v, rtol, atol) for k, v in recomputed.items())
    return claimed == recomputed


class Unusable(Exception):
    """A claimed value that cannot even be interpreted (wrong type, index out of range); raised
    inside :meth:`Ledger.guard`, it becomes a mismatch with this message."""


class Unverifiable(Exception):
    """A claim whose re-derivation needs more than the audit does at these sizes (an eigenvalue of an
    m x m matrix above :data:`qrcheck.audit.stats.DENSE_M`); inside :meth:`Ledger.guard` it becomes a
    ``cannot`` with this reason and ``fix``."""

    def __init__(self, reason: str, fix: str) -> None:
        super().__init__(reason)
        self.fix = fix


@dataclass(frozen=True)
class Mismatch:
    """One claim that does not hold: where (``path``), the claimed and recomputed values rendered
    safely as text (:func:`qrcheck.audit.text.show`), and why."""

    path: str
    claimed: str
    recomputed: str
    why: str = ""

    @property
    def prop(self) -> str:
        """The top-level group of ``path`` ("19".."30" for properties, else the first key)."""
        parts = self.path.split(".")
        return parts[1] if parts[0] == "properties" and len(parts) > 1 else parts[0]

    @property
    def field(self) -> str:
        """``path`` below its group (:attr:`prop`)."""
        parts = self.path.split(".")
        return ".".join(parts[2:] if parts[0] == "properties" and len(parts) > 1 else parts[1:]) or self.path

    def __str__(self) -> str:
        return f"{self.path}: claimed {self.claimed}, recomputed {self.recomputed}" + (
            f" ({self.why})" if self.why else "")


@dataclass(frozen=True)
class Cannot:
    """A claim that cannot be re-derived here: where, why, and the remedy."""

    path: str
    why: str
    fix: str

    def __str__(self) -> str:
        return f"{self.path}: {self.why}; {self.fix}"


class Ledger:
    """Collects the audit's findings for one certificate ``cert`` (a parsed JSON dict, or ``None``
    when only comparisons are wanted). See the module docstring for the interface."""

    def __init__(self, cert: Any = None) -> None:
        self.cert = cert
        self.mismatches: list[Mismatch] = []
        self.cannots: list[Cannot] = []
        self.notes: list[str] = []
        self.vouched: set[str] = set()
        self.skipped: dict[str, str] = {}
        self.checks = 0

    # ---- reading the certificate ----------------------------------------------------------
    def claim(self, path: str) -> Any:
        """The certificate's value at ``path``, or :data:`MISSING`."""
        node = self.cert
        for part in _split(path):
            if isinstance(part, int):
                if not isinstance(node, list) or not 0 <= part < len(node):
                    return MISSING
                node = node[part]
            else:
                if not isinstance(node, dict):
                    return MISSING
                if part.startswith('["'):
                    hit = [k for k in node if _key(str(k)) == part]
                    if not hit:
                        return MISSING
                    node = node[hit[0]]
                elif part in node:
                    node = node[part]
                else:
                    return MISSING
        return node

    # ---- recording -----------------------------------------------------------------------
    def check(self, path: str, claimed: Any, recomputed: Any, *, rtol: float = RTOL, atol: float = 0.0,
              why: str = "") -> bool:
        """Compare ``claimed`` with ``recomputed`` (:func:`agree`); a difference is a mismatch at
        ``path``. Vouches ``path``. Returns whether they agree."""
        self.checks += 1
        self.vouch(path)
        try:
            ok = agree(claimed, recomputed, rtol, atol)
        except Exception:  # noqa: BLE001 - hostile values never crash the audit
            ok = False
        if not ok:
            self._mismatch(path, claimed, recomputed, why)
        return ok

    def check_at(self, path: str, recomputed: Any, **kw: Any) -> bool:
        """:meth:`check` of the certificate's own value at ``path``."""
        return self.check(path, self.claim(path), recomputed, **kw)

    def fail(self, path: str, claimed: Any, recomputed: Any, why: str = "") -> None:
        """Record a mismatch at ``path`` (no comparison made); vouches ``path``."""
        self.checks += 1
        self.vouch(path)
        self._mismatch(path, claimed, recomputed, why)

    def _mismatch(self, path: str, claimed: Any, recomputed: Any, why: str) -> None:
        c = "(missing)" if claimed is MISSING else show(claimed)
        r = "(missing)" if recomputed is MISSING else show(recomputed)
        self.mismatches.append(Mismatch(safe(path, 120), c, r, safe(why, 200)))

    def cannot(self, path: str, why: str, fix: str) -> None:
        """A claim that cannot be re-derived on this machine (exit 3 when nothing failed)."""
        self.cannots.append(Cannot(safe(path, 120), safe(why, 200), safe(fix, 200)))

    def vouch(self, path: str) -> None:
        """Mark ``path`` and everything under it as re-derived."""
        self.vouched.add(path)

    def skip(self, path: str, reason: str) -> None:
        """Leave ``path`` (and everything under it) unchecked, listed as not vouched for with
        ``reason`` (module docstring: only for keys nothing else depends on)."""
        self.skipped[path] = safe(reason, 200)

    def note(self, text: str) -> None:
        self.notes.append(safe(text, 400))

    @contextlib.contextmanager
    def guard(self, path: str) -> Iterator[None]:
        """Turn anything raised while re-deriving ``path`` into a mismatch row (never a crash)."""
        try:
            yield
        except Unusable as exc:
            self.fail(path, "(unusable)", "(not re-derivable)", str(exc))
        except Unverifiable as exc:
            self.cannot(path, str(exc), exc.fix)
        except MemoryError:
            self.fail(path, "(unusable)", "(not re-derivable)", "out of memory")
        except Exception as exc:  # noqa: BLE001 - hostile input must never crash the audit
            self.fail(path, "(unusable)", "(not re-derivable)", f"{exc.__class__.__name__}: {safe(exc, 120)}")

    # ---- outcome -------------------------------------------------------------------------
    @property
    def exit_code(self) -> int:
        """1 if any mismatch, else 3 if any claim could not be re-derived, else 0."""
        return 1 if self.mismatches else 3 if self.cannots else 0

    # ---- coverage ------------------------------------------------------------------------
    def _reason(self, path: str) -> str | None:
        """Why ``path`` is not vouched for: a :meth:`skip` of it, or its :data:`NOT_VOUCHED` pattern."""
        if path in self.skipped:
            return self.skipped[path]
        for pat in NOT_VOUCHED:
            if fnmatch.fnmatchcase(path, pat):
                return NOT_VOUCHED[pat]
        return None

    def _walk(self) -> Iterator[tuple[str, str | None]]:
        """(path, reason or None) of every maximal subtree neither vouched nor under a vouched path
        nor documented (a subtree none of whose keys was re-derived is reported once, by its own
        path); documented and skipped keys come with their reason."""
        vouched = self.vouched

        def below(path: str) -> bool:
            return any(v.startswith(path + ".") or v.startswith(path + "[") for v in vouched)

        def walk(node: Any, path: str) -> tuple[list[tuple[str, str | None]], bool | None]:
            """(findings, whether the whole subtree is unvouched apart from documented keys; None
            for a documented key itself)."""
            if path in vouched:
                return [], False
            pat = self._reason(path) if path else None
            if pat is not None:
                return [(path, pat)], None  # documented: neutral for collapsing
            if isinstance(node, (dict, list)) and not node and path:
                return [], None  # an empty object or list claims nothing
            if isinstance(node, dict) or (isinstance(node, list) and below(path)):
                items = node.items() if isinstance(node, dict) else enumerate(node)
                found: list[tuple[str, str | None]] = []
                flags = []
                for k, v in items:
                    child = (join(path, str(k)) if path else _key(str(k))) if isinstance(node, dict) else f"{path}[{k}]"
                    f, w = walk(v, child)
                    found.extend(f)
                    flags.append(w)
                if path and True in flags and all(w is not False for w in flags):
                    return [(path, None)] + [x for x in found if x[1] is not None], True
                if path and all(w is None for w in flags):
                    return found, None  # only documented keys inside
                return found, False
            return [(path, None)], True

        if isinstance(self.cert, dict):
            yield from walk(self.cert, "")[0]

    def unvouched(self) -> list[str]:
        """Paths of the certificate neither re-derived nor documented as not vouched for
        (:data:`NOT_VOUCHED`): the audit prints them as not checked."""
        return [p for p, pat in self._walk() if pat is None]

    def not_vouched(self) -> list[tuple[str, str]]:
        """(path, reason) of the keys skipped by a documented :data:`NOT_VOUCHED` pattern or by
        :meth:`skip`."""
        return [(p, why) for p, why in self._walk() if why is not None]
