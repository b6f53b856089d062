"""The audit: read a certificate, re-derive every claim into a :class:`~qrcheck.audit.ledger.Ledger`,
and report (docs/certificates.md).

Stages: strict read (duplicate keys, NaN, size: exit 2) -> schema of the version it names (each
violation a mismatch) -> work bound from n, S, m (exit 2 before allocating) -> the profile (a built-in
name IS the built-in) -> the arrays (regenerated from the seed; .npz for user arrays) -> the
statistics, enclosures, thresholds, witnesses, proved bounds and statuses of (19)-(30) -> the regime
and the required set -> gradient descent's bookkeeping (and, with ``replay_gd``, a reference replay)
-> the gating of GD and the verdict -> plugins (entry point group ``qrcheck.audit``) -> coverage.

Imports: numpy, scipy, the stdlib, ``qrcheck.certificate.io`` and the audit's own modules; nothing of
the verify side (a test holds this).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Callable, Mapping

from .ledger import MISSING, Cannot, Ledger, Mismatch, Unverifiable, is_number, join
from .text import safe, show

EQS = tuple(str(e) for e in range(19, 31))
REPLAY_MAX_STEPS = 1_000_000
"""--replay-gd replays at most this many steps of (12) (the message names the limit)."""
DEFAULTS = {"max_steps": 100_000, "normalized": False, "track_every": 0}
"""Documented defaults of the optional ``parameters`` keys (a missing key takes its default; it never
skips a check)."""
REQUIRE = ("regime", "all", "none")
PLUGIN_GROUP = "qrcheck.audit"


class Outcome(Enum):
    """The audit's result; its value is the exit code (CONTRACT)."""

    CLEAN = 0
    MISMATCH = 1
    UNREADABLE = 2
    INCOMPLETE = 3

    @property
    def exit_code(self) -> int:
        return self.value


@dataclass(frozen=True)
class AuditReport:
    """Everything one audit found.

    outcome / exit_code : 0 clean, 1 mismatch, 2 unreadable, 3 incomplete (CONTRACT).
    mismatches : each claim that does not hold (path, claimed, recomputed, why).
    cannot : claims that cannot be re-derived here, each with its remedy (exit 3 when nothing failed).
    unvouched : keys of the certificate the audit did not re-derive (printed as "not checked").
    not_vouched : (key, reason) skipped by the documented list (timings, versions, free text) or,
        above the dense limit, because the value needs an m x m eigenvalue (those are also in ``skipped``).
    skipped : (key, reason) of the values left unchecked at this size (no status depends on them).
    notes : informational lines (the schema version read, formula versions, what was regenerated).
    schema : the schema version read; arrays_from : where the arrays came from.
    """

    path: str
    outcome: Outcome
    mismatches: tuple[Mismatch, ...] = ()
    cannot: tuple[Cannot, ...] = ()
    unvouched: tuple[str, ...] = ()
    not_vouched: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()
    checks: int = 0
    error: str | None = None
    schema: str | None = None
    arrays_from: str | None = None
    gd_replayed: bool = False
    statuses: Mapping[str, str] = field(default_factory=dict)
    skipped: tuple[tuple[str, str], ...] = ()

    @property
    def exit_code(self) -> int:
        return self.outcome.exit_code

    @property
    def unverified(self) -> tuple[str, ...]:
        """What could not be re-derived here, as lines (remedy included)."""
        return tuple(str(c) for c in self.cannot)


class _Unreadable(Exception):
    """Exit 2 with this one line."""


def _load(source: Any) -> tuple[dict, Path | None, str]:
    from ..certificate.io import CertificateError, SCHEMA_IDS, parse, read_certificate

    if isinstance(source, (str, Path)):
        p = Path(source)
        try:
            return read_certificate(p), p, str(p)
        except CertificateError as exc:
            raise _Unreadable(safe(str(exc), 300)) from None
    to_json = getattr(source, "to_json", None)
    obj = to_json() if callable(to_json) else source
    if not isinstance(obj, Mapping):
        raise _Unreadable(f"not a certificate: a {type(source).__name__}")
    try:
        text = json.dumps(obj, allow_nan=False, default=_jsonable)
    except (TypeError, ValueError) as exc:
        raise _Unreadable(f"not a certificate: {safe(exc, 200)}") from None
    try:
        cert = parse(text)
    except CertificateError as exc:
        raise _Unreadable(safe(str(exc), 300)) from None
    if cert.get("schema") not in SCHEMA_IDS:
        raise _Unreadable("not a certificate: 'schema' is " + safe(show(cert.get("schema")), 80))
    return cert, None, "(in memory)"


def _jsonable(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, (tuple, set, frozenset)):
        return list(o)
    if isinstance(o, Mapping):
        return dict(o)
    if isinstance(o, Enum):
        return o.value
    raise TypeError(f"{type(o).__name__} is not JSON")


def audit(path_or_certificate: Any, *, arrays: str | Path | None = None, replay_gd: bool = False,
          progress: Callable[[str], None] | None = None, on_stage: Callable[[str], None] | None = None,
          on_gd: Callable[[int, float], None] | None = None,
          max_replay_steps: int = REPLAY_MAX_STEPS, dense_m: int | None = None) -> AuditReport:
    """Audit a certificate (a path, a parsed dict, or a ``qrcheck.Certificate``). Never raises on
    hostile input: an unreadable file is ``Outcome.UNREADABLE`` with one line in ``error``; everything
    else is a row of the report. ``progress``/``on_stage`` receive stage names, ``on_gd`` the replay's
    (t, ||e_t||). ``dense_m``: above this m no m x m matrix is formed
    (:data:`qrcheck.audit.stats.DENSE_M` when None; docs/certificates.md, "Large m")."""
    stage = progress or on_stage or (lambda s: None)
    try:
        cert, cert_path, shown = _load(path_or_certificate)
    except _Unreadable as exc:
        return AuditReport(str(path_or_certificate) if isinstance(path_or_certificate, (str, Path)) else "(in memory)",
                           Outcome.UNREADABLE, error=str(exc))
    try:
        from .stats import DENSE_M

        return _audit(cert, cert_path, shown, arrays, replay_gd, stage, on_gd, max_replay_steps,
                      DENSE_M if dense_m is None else int(dense_m))
    except _Unreadable as exc:
        return AuditReport(shown, Outcome.UNREADABLE, error=str(exc))
    except MemoryError:
        return AuditReport(shown, Outcome.UNREADABLE, error="out of memory while re-deriving the certificate")


def _audit(cert: dict, cert_path: Path | None, shown: str, arrays_arg: Any, replay_gd: bool,
           stage: Callable[[str], None], on_gd: Any, max_replay_steps: int, dense_m: int) -> AuditReport:
    from ..certificate.io import schema_issues

    led = Ledger(cert)
    tag = cert["schema"]
    version = 2 if tag.endswith("/2") else 1
    led.vouch("schema")
    led.note(f"read a {tag} certificate")
    stage("validating the schema")
    try:
        issues = schema_issues(cert)
    except Exception as exc:  # noqa: BLE001 - hostile strings must never crash the audit
        raise _Unreadable(f"not a certificate: schema validation failed ({safe(exc, 120)})") from None
    if issues:
        for i in issues:
            led.fail(f"schema: {i.path}", i.value, "(schema)", i.message)
        return _report(shown, led, tag)

    p = cert["parameters"]
    n, S, m = p["n"], p["S"], p["m"]
    from .arrays import ArraysUnreadable, finite_sizes, obtain, too_large

    if not finite_sizes(n, S, m):
        raise _Unreadable("not a certificate: parameters n, S, m must be positive integers")
    big = too_large(n, S, m, dense_m)
    if big:
        raise _Unreadable(big + "; audit it on a machine with more memory")
    for k in ("n", "S", "m"):
        led.vouch(f"parameters.{k}")
    if m > dense_m:
        led.note(f"m = {m} > {dense_m}: the audit forms no m x m matrix (X^T X in row blocks; claims that need "
                 "an eigenvalue of an m x m matrix are listed as not vouched, or as not re-derivable)")

    # ---- optional parameters take their documented defaults
    params = {k: p.get(k, v) for k, v in DEFAULTS.items()}
    for k, v in DEFAULTS.items():
        got = params[k]
        ok = type(got) is type(v) and (not isinstance(v, int) or isinstance(v, bool) or got >= 0)
        if not ok:
            led.fail(f"parameters.{k}", got, f"a value like {show(v)}")
        else:
            led.vouch(f"parameters.{k}")

    # ---- the profile
    stage("checking the profile")
    from . import thresholds

    with led.guard("provenance.profile"):
        for key, claimed, builtin in thresholds.profile_mismatches(cert):
            key = str(key)
            led.fail(key if key.startswith(("provenance.", "parameters.")) else join("provenance.profile", key),
                     claimed, builtin, "a profile named like a built-in is the built-in")
        led.vouch("provenance.profile")
        name = thresholds.profile_table(cert)[0]
        led.check("parameters.profile", p.get("profile", MISSING), name)
    notice = thresholds.version_notice(cert)
    if notice:
        led.note(notice)

    # ---- the arrays
    stage("loading or regenerating the arrays")
    from .arrays import Arrays

    got = Arrays(None, "unavailable")
    unreadable = None
    with led.guard("inputs"):
        try:
            got = obtain(cert, cert_path, arrays_arg, led, dense_m)
        except ArraysUnreadable as exc:
            unreadable = str(exc)
    if unreadable is not None:
        raise _Unreadable(f"--arrays: {unreadable}")
    statuses: dict[str, str] = {}
    n_star = None
    if got.arrays is not None:
        led.note(f"arrays {got.origin}")
        with led.guard("properties"):
            statuses, exp = _properties(cert, got.arrays, led, version, stage, dense_m)
            if "21" in exp:
                n_star = int(exp["21"].extras["n_star"])
    if p.get("normalized") is True and cert["inputs"]["X"].get("source") == "sampled":
        led.fail("parameters.normalized", True, False, "a sampled X has unit columns: nothing was rescaled")
    # ---- the regime, the required set, GD, the verdict
    gating = statuses
    if got.arrays is None:
        # the statistics cannot be re-derived here: the gating and the verdict are checked for
        # consistency with the certificate's own statuses (which stay unconfirmed: exit 3 at best)
        props = cert.get("properties") or {}
        gating = {eq: str(props[eq].get("status")) for eq in EQS if isinstance(props.get(eq), Mapping)}
        led.note("the arrays are not available: the gating of GD and the verdict are checked against the "
                 "certificate's own statuses")
    required = _regime_and_required(cert, led, gating, got.arrays if got.y_confirmed else None)
    stage("checking gradient descent")
    blocked = None
    if m > dense_m:
        from .stats import too_big

        blocked = too_big("the eigenvalues of H0, H_T, G and (60)", m, dense_m) + "; replayed without them"
    replayed = _gd(cert, got, led, replay_gd, max_replay_steps, n_star, blocked)
    for k in ("eta_w", "eta_z", "tol"):  # inputs of the regime and GD checks above
        v = p.get(k, MISSING)
        if not is_number(v) or not math.isfinite(float(v)) or float(v) < 0:
            led.fail(f"parameters.{k}", v, "a finite number >= 0")
        else:
            led.vouch(f"parameters.{k}")
    with led.guard("verdict"):
        _gating_and_verdict(cert, led, gating, required, params)
    with led.guard("properties"):
        _plugins(cert, got.arrays, led)
    if led.skipped:
        groups: dict[str, list[str]] = {}
        for k in sorted(led.skipped):
            head, _, leaf = k.rpartition(".")
            groups.setdefault(head, []).append(leaf)
        led.note(f"{len(led.skipped)} keys not vouched for at m = {m} (each needs an eigenvalue of an m x m matrix; "
                 "no status depends on them): " + "; ".join(f"{h}.{{{', '.join(v)}}}" for h, v in groups.items()))
    return _report(shown, led, tag, got.origin if got.arrays is not None else None, replayed, statuses)


def _properties(cert: dict, arrays: Mapping[str, Any], led: Ledger, version: int,
                stage: Callable[[str], None], dense_m: int) -> tuple[dict[str, str], dict[str, Any]]:
    from . import stats, thresholds
    from .props import PropertyAudit

    stage("computing the statistics and their enclosures")
    q = stats.Quantities(arrays["X"], arrays["W0"], arrays["z0"], dense_m)
    encl = stats.exact(q)
    if q.open_signs:
        led.note(f"{q.open_signs} entries of W0 X have a sign the rounding bound leaves open (too many to "
                 "recompute exactly): the enclosures of (30) and H0 hold for the float64 activations")
    stage("deriving the thresholds")
    try:
        exp = thresholds.expected(cert, arrays, {k: (v.lo, v.hi) for k, v in encl.items()}, dense_m)
    except thresholds.ProfileError as exc:
        led.fail("provenance.profile", "(this profile)", "(not auditable)", str(exc))
        return {}, {}
    except Unverifiable as exc:
        led.cannot("properties", str(exc), exc.fix)
        props = cert.get("properties") or {}
        return {eq: str(props[eq].get("status")) for eq in EQS if isinstance(props.get(eq), Mapping)}, {}
    stage("re-deriving (19)-(30)")
    statuses = PropertyAudit(cert, q, exp, encl, led, version).run()
    from . import diag

    with led.guard("diagnostics"):
        diag.check(cert, q, arrays.get("y"), led)
    return statuses, exp


def _regime_and_required(cert: dict, led: Ledger, statuses: Mapping[str, str], arrays: Any) -> Any:
    """The regime section, the required set (``--require``: all, none, or the regime's case) and the
    gating of GD (``gd.ran``, ``gd.reason``, ``gd.certified``), re-derived by
    :func:`qrcheck.audit.regime.check` from the audit's own statuses; returns the required set."""
    from . import regime

    with led.guard("regime"):
        return list(regime.check(cert, led, dict(statuses), arrays=arrays))
    return None


def _gd(cert: dict, got: Any, led: Ledger, replay_gd: bool, max_replay_steps: int, n_star: int | None,
        blocked: str | None = None) -> bool:
    """GD's record: consistency always; with ``replay_gd`` a reference replay of (12)
    (:func:`qrcheck.audit.replay.check_gd`, at most ``max_replay_steps`` steps, the limit named when it
    binds; ``blocked``: above the dense limit, without the eigenvalues). Returns whether a replay ran."""
    from . import replay

    arrays = got.arrays if got.arrays is not None and "y" in got.arrays else None
    with led.guard("gd"):
        replay.check_gd(cert, arrays, led, bool(replay_gd and arrays is not None), max_replay_steps, n_star=n_star,
                        blocked=blocked)
        if replay_gd and arrays is None:
            led.note("gradient descent not replayed: the arrays are not available")
        return bool(replay_gd and arrays is not None and cert["gd"].get("ran") is True)
    return False


def _gating_and_verdict(cert: dict, led: Ledger, statuses: Mapping[str, str], required: Any,
                        params: Mapping[str, Any]) -> None:
    """Whether GD should have run, ``gd.certified``, and the verdict text (CONTRACT: starts
    ``pass:``/``fail:``, counts how the required properties hold)."""
    gd = cert["gd"]
    if required is None or (not statuses and required):
        return
    violated = [e for e in required if statuses.get(e) == "violated"]
    verdict = cert.get("verdict", MISSING)
    if not isinstance(verdict, str):
        led.fail("verdict", verdict, "a string")
        return
    ran, status, T = gd.get("ran") is True, gd.get("status"), gd.get("T")
    if violated:
        plural = "y" if len(violated) == 1 else "ies"
        core = f"fail: required propert{plural} violated " + ", ".join(f"({e})" for e in violated)
        if ran:
            core += f"; gradient descent (forced) {status}"
    elif ran and status != "converged":
        core = f"fail: gradient descent {status} after T = {T} steps"
    elif not ran:
        core = "pass: every required property holds; gradient descent not run"
    else:
        core = f"pass: every required property holds; gradient descent converged in T = {T} steps"
        if T == 0:
            core += ": ||e_0|| < tol"
    led.check("verdict (pass/fail)", verdict.split(":", 1)[0] + ":", core.split(":", 1)[0] + ":")
    counts = {s: sum(1 for e in required if statuses.get(e) == s) for s in
              ("certified", "passed", "undecided", "vacuous", "not_applicable", "violated")}
    rest = verdict
    for s, k in counts.items():
        words = s.replace("_", " ")
        hit = re.search(rf"(\d+) {words}\b", rest)
        if hit:
            led.check(f"verdict ({words})", int(hit.group(1)), k)
            rest = rest[:hit.start()] + "#" + rest[hit.end():]
    suffix = _outside_suffix(cert)
    if suffix is not None:
        core += suffix
    core += _baseline_clause(cert)
    claimed_core = strip_counts(rest)
    led.check("verdict", claimed_core, core, why="the verdict text re-derived from the audited statuses, GD and regime")


_COUNT_GROUP = re.compile(r"\s*\((?:\s*(?:#|and|of|the|required|propert(?:y|ies)|[,;:]))*\s*\)")
_COUNT_RUN = re.compile(r"[;,:]?\s*#(?:\s*(?:[,;]|and)\s*#)*")


def strip_counts(text: str) -> str:
    """The verdict text without its status counts (each already replaced by ``#``): a parenthesised
    group of counts, or a run of them, is removed, so the rest can be compared word for word."""
    if "#" not in text:
        return text
    return _COUNT_RUN.sub("", _COUNT_GROUP.sub("", text))


def _baseline_clause(cert: dict) -> str:
    """The verdict's "; far outside the random baseline: (19), ..." (issue 14, qrcheck.baseline),
    re-derived from the recorded baseline values, each property's own statistic and sense, and the
    rule's constants the baseline records (``far_factor``, ``far_min_k``): far above a ``<=``
    property's range [lo, hi] when s > hi + max(hi - lo, (F - 1)|hi|), far below a ``>=`` / ``>``
    property's when s < lo - max(hi - lo, (1 - 1/F)|lo|). The K random instances are not re-run."""
    b = cert.get("baseline")
    if not isinstance(b, dict) or not is_number(b.get("far_factor")):
        return ""
    F, kmin = float(b["far_factor"]), b.get("far_min_k", 5)
    far = []
    for eq in EQS:
        c, r = (b.get("properties") or {}).get(eq), cert["properties"].get(eq)
        if not isinstance(c, dict) or not isinstance(r, dict) or not is_number(r.get("statistic")):
            continue
        vals = [float(v) for v in c.get("values") or [] if is_number(v)]
        if not is_number(kmin) or len(vals) < kmin:
            continue
        s, lo, hi = float(r["statistic"]), min(vals), max(vals)
        if r.get("sense") == "<=":
            hit = s > hi and s > hi + max(hi - lo, (F - 1) * abs(hi))
        else:
            hit = s < lo and s < lo - max(hi - lo, (1 - 1 / F) * abs(lo))
        if hit:
            far.append(eq)
    return ("; far outside the random baseline: " + ", ".join(f"({e})" for e in far)) if far else ""


def _outside_suffix(cert: dict) -> str | None:
    """The "(outside Theorem 2.3: ...)" suffix, from the audit's regime classification (C2's
    ``regime.outside_suffix`` when it provides one; else from the re-derived regime record)."""
    from . import regime

    return regime.verdict_suffix(cert)


# ---- plugins ----------------------------------------------------------------------------------
def _plugins(cert: dict, arrays: Any, led: Ledger) -> None:
    """A property key other than "19".."30" is a third-party claim: it is re-derived only by an
    independent recomputation registered in the entry-point group ``qrcheck.audit`` under that key
    (``def audit(record: dict, arrays: dict | None, ledger: Ledger, path: str) -> None``, reporting into
    the ledger); otherwise it is reported as not vouched. Built-in keys never load plugin code."""
    extra = [k for k in cert["properties"] if k not in EQS]
    if not extra:
        return
    try:
        from importlib.metadata import entry_points

        eps = {ep.name: ep for ep in entry_points(group=PLUGIN_GROUP)}
    except Exception:  # noqa: BLE001
        eps = {}
    for k in extra:
        path = join("properties", k)
        ep = eps.get(k)
        if ep is None:
            led.note(f"property {safe(k, 40)} is a third-party claim and no auditor for it is installed "
                     f"(entry point group {PLUGIN_GROUP}): not vouched")
            continue
        with led.guard(path):
            fn = ep.load()
            fn(cert["properties"][k], arrays, led, path)


def _report(shown: str, led: Ledger, tag: str, arrays_from: str | None = None, replayed: bool = False,
            statuses: Mapping[str, str] | None = None) -> AuditReport:
    outcome = Outcome(led.exit_code)
    return AuditReport(shown, outcome, tuple(led.mismatches), tuple(led.cannots), tuple(led.unvouched()),
                       tuple(led.not_vouched()), tuple(led.notes), led.checks, None, tag, arrays_from, replayed,
                       dict(statuses or {}), tuple(sorted(led.skipped.items())))

