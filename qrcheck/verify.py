"""``qrcheck verify`` as a library function: draw, check (19)-(30), gate, run GD, certify."""

from __future__ import annotations

import platform
import sys
import time
from dataclasses import replace as _replace
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import InputError, __version__, _callable_module, spectral
from .search import Effort
from .draw import Draw, make_draw
from .gd import GDConfig, GDResult, peak_rss_bytes, run_gd
from .profiles import Profile, load_profile
from .properties import CheckContext, registry
from .properties.p21 import n_star as n_star_of
from .regime import Case, choose_case, classify, required_properties
from .regime import report as regime_report
from .results import PropertyResult, Status
from .certificate.records import (DEFAULT_M, DEFAULT_N, DEFAULT_S, Certificate, GDRecord, Parameters,
                                  PropertyRecord, Provenance, Regime, Verdict, inputs_of)
from .draw import random_stream_fingerprint

# qrcheck.verify(...) is the Python API's function (qrcheck.api.verify, docs/api.md); importing this
# module binds the name qrcheck.verify to it, so the module itself is made callable
_callable_module(__name__, "verify")


@dataclass(frozen=True)
class VerifyConfig:
    """Everything ``qrcheck verify`` takes (CONTRACT defaults, paper Section 4). The run's
    parameters proper are :meth:`parameters` (:class:`qrcheck.certificate.records.Parameters`, the
    one home of their defaults and validation); the rest says where the arrays come from and how
    hard the searches try."""

    n: int | None = DEFAULT_N
    S: int | None = DEFAULT_S
    m: int | None = DEFAULT_M
    seed: int = 0
    X: str | None = None
    W0: str | None = None
    z0: str | None = None
    y: str | None = None
    z_dist: str = "rademacher"
    labels: str = "gaussian"
    profile: str = "paper"
    eta_w: float = 1e-3
    eta_z: float = 0.0
    tol: float = 1e-3
    max_steps: int = 100_000
    no_gd: bool = False
    force: bool = False
    require: str = "regime"
    track_every: int = 0
    normalize: bool = False
    effort: Effort = field(default_factory=Effort)
    # Section 4's rates ("stated" or "implied", qrcheck.rates.paper_rates) for the draw's (S, m),
    # replacing eta_w and eta_z (--paper-rates)
    paper_rates: str | None = None
    strict: bool = False  # --strict: exit 1 unless every required property is certified (CONTRACT)
    # issue 14: X from a bundled data set (qrcheck.datasets; m points subsampled from the seed),
    # centred first with ``center``; ``baseline`` random instances of the same sizes to compare with
    dataset: str | None = None
    center: bool = False
    baseline: int = 0

    def parameters(self, draw: Draw | None = None, profile_name: str | None = None) -> Parameters:
        """The run's :class:`Parameters`: sizes, seed, z_dist, labels and ``normalized`` from
        ``draw`` when given (arrays loaded from files fix them), the rest from this config."""
        src = draw if draw is not None else self
        return Parameters(n=src.n, S=src.S, m=src.m, seed=src.seed, eta_w=self.eta_w, eta_z=self.eta_z,
                          profile=profile_name or self.profile, z_dist=src.z_dist, labels=src.labels,
                          tol=self.tol, max_steps=self.max_steps, track_every=self.track_every,
                          require=self.require, normalized=draw.normalized if draw is not None else self.normalize,
                          force=self.force, no_gd=self.no_gd, dataset=self.dataset, center=self.center,
                          baseline=self.baseline)

    @classmethod
    def from_parameters(cls, p: Parameters, effort: Effort | None = None) -> "VerifyConfig":
        """The config that repeats a run of parameters ``p`` (sampled arrays)."""
        return cls(n=p.n, S=p.S, m=p.m, seed=p.seed, z_dist=p.z_dist, labels=p.labels, profile=p.profile,
                   eta_w=p.eta_w, eta_z=p.eta_z, tol=p.tol, max_steps=p.max_steps, no_gd=p.no_gd, force=p.force,
                   require=p.require, track_every=p.track_every, normalize=p.normalized,
                   effort=effort if effort is not None else Effort(), dataset=p.dataset, center=p.center,
                   baseline=p.baseline)

    def verify_command(self) -> list[str]:
        """The ``qrcheck verify`` command line that repeats this run (sampled arrays)."""
        return self.parameters().verify_command(self.effort.to_dict())

    def validate(self) -> None:
        self.parameters().validate()
        from .rates import RULES
        if self.paper_rates is not None and self.paper_rates not in RULES:
            raise InputError(f"--paper-rates must be one of {', '.join(RULES)}, got {self.paper_rates!r}")
        e = self.effort
        if e.subset_samples < 0 or e.restarts < 1 or e.iterations < 1:
            raise InputError("search effort must have subset_samples >= 0, restarts >= 1, iterations >= 1")
        if e.time_budget is not None and not e.time_budget > 0:
            raise InputError(f"--time-budget must be > 0 seconds, got {e.time_budget}")


@dataclass(frozen=True)
class VerifyOutcome:
    """Result of a verify run: the typed :class:`Certificate` (the one source of truth) and what
    callers need beyond it: the regime's case, the GD result with its arrays (W_T, z_T, D) and the
    draw. :attr:`results`, :attr:`required` and :attr:`exit_code` are read off the certificate."""

    certificate: Certificate
    case: Case
    gd: GDResult | None
    draw: Draw | None = None
    strict: bool = False

    @property
    def results(self) -> tuple[PropertyResult, ...]:
        """The property results (19)-(30), in equation order, as the certificate records them."""
        return tuple(rec.as_result() for rec in self.certificate.properties.values())

    @property
    def required(self) -> tuple[str, ...]:
        return self.certificate.required

    @property
    def not_certified(self) -> tuple[str, ...]:
        """The required properties whose status is not ``certified`` (what ``--strict`` refuses)."""
        return self.certificate.not_certified

    @property
    def exit_code(self) -> int:
        """The certificate's exit code; with ``--strict`` also 1 unless every required property is
        ``certified``."""
        c = self.certificate
        return c.strict_exit_code if self.strict else c.exit_code


def provenance(command: list[str] | None, profile: Profile, effort: Effort) -> Provenance:
    import scipy

    try:
        blas = np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})  # type: ignore[union-attr]
        blas = {"name": blas.get("name"), "version": blas.get("version"),
                "configuration": blas.get("openblas configuration")}
    except Exception:  # noqa: BLE001 - older numpy has no dict mode
        blas = {"name": None, "version": None, "configuration": None}
    return Provenance(qrcheck=__version__, python=platform.python_version(), numpy=np.__version__,
                      scipy=scipy.__version__, blas=blas, platform=platform.platform(),
                      command=list(command) if command is not None else list(sys.argv),
                      profile=profile.to_dict(), search_effort=effort.to_dict(),
                      random_stream=random_stream_fingerprint())


def verdict_counts(results, required) -> dict[str, int] | None:
    """status -> number among the required properties, for the verdict (None: nothing required)."""
    if not required:
        return None
    return {s: sum(1 for r in results if r.eq in required and r.status.value == s) for s in Verdict.COUNTED}


def verify(cfg: VerifyConfig, *, on_check: Callable[[str, str], None] | None = None,
           on_search: Callable[[str, str, float], None] | None = None,
           on_gd: Callable[[int, float], None] | None = None, command: list[str] | None = None,
           draw: Draw | None = None,
           on_baseline: Callable[[int, int, float], None] | None = None,
           dense_limit: int = spectral.DENSE_M_LIMIT) -> VerifyOutcome:
    """Run verify; raises :class:`qrcheck.InputError` on bad input (nothing is written here).
    ``on_baseline(k, K, seconds)``: progress of ``cfg.baseline`` random instances (issue 14).
    ``dense_limit``: above this m neither the checks (``Quantities.matrix_free``) nor GD form an
    m x m array (tests lower it to force that path on small draws). ``provenance.phase_seconds``
    records each phase (``draw``, each property, ``diagnostics``, ``gd``, ``total``) and
    ``provenance.peak_rss_bytes_checks`` the process's peak memory before GD."""
    cfg.validate()
    t_start = time.perf_counter()
    profile = load_profile(cfg.profile)
    dataset = None
    if draw is None and cfg.dataset is not None:
        from .datasets import dataset_draw

        draw, dataset = dataset_draw(cfg.dataset, S=cfg.S, m=cfg.m, seed=cfg.seed, z_dist=cfg.z_dist,
                                     labels=cfg.labels, center=cfg.center)
    elif draw is None:
        draw = make_draw(n=cfg.n, S=cfg.S, m=cfg.m, seed=cfg.seed, z_dist=cfg.z_dist, labels=cfg.labels,
                         X=cfg.X, W0=cfg.W0, z0=cfg.z0, y=cfg.y, normalize=cfg.normalize)
    if cfg.paper_rates is not None:  # the draw fixes (S, m) (arrays loaded from files included)
        from dataclasses import replace as replace_cfg

        from .rates import paper_rates
        eta_w, eta_z = paper_rates(draw.S, draw.m, cfg.paper_rates)
        cfg = replace_cfg(cfg, eta_w=eta_w, eta_z=eta_z)
    ctx = CheckContext.of(draw, profile, cfg.effort, on_search=on_search, dense_limit=dense_limit)
    phases = {"draw": time.perf_counter() - t_start, "properties": {}}   # provenance.phase_seconds
    results = []
    for checker in registry():
        if on_check:
            on_check(checker.eq, checker.name)
        t_check = time.perf_counter()
        results.append(checker.check(ctx))
        phases["properties"][checker.eq] = time.perf_counter() - t_check
    results = tuple(results)
    from . import diagnostics as _diagnostics

    t_diag = time.perf_counter()
    diag = _diagnostics.kernel_diagnostics(ctx.q, cfg.eta_w, cfg.eta_z, cfg.tol)
    phases["diagnostics"] = time.perf_counter() - t_diag
    peak_checks = peak_rss_bytes()
    base = None
    if cfg.baseline:
        from .baseline import run_baseline

        base = run_baseline(results, diag, n=draw.n, S=draw.S, m=draw.m, z_dist=draw.z_dist, profile=profile,
                            effort=cfg.effort, K=cfg.baseline, seed=draw.seed, eta_w=cfg.eta_w,
                            on_instance=on_baseline)
    case = classify(draw.n, draw.S, draw.m, cfg.eta_w, cfg.eta_z)
    all_violated = {r.eq for r in results if r.status is Status.VIOLATED}
    required = required_properties(cfg.require, case, [r.eq for r in results], all_violated)
    violated = [r.eq for r in results if r.eq in required and r.status is Status.VIOLATED]

    gd_result: GDResult | None = None
    plural = "y" if len(violated) == 1 else "ies"
    if cfg.no_gd:
        gd = GDRecord.not_run("--no-gd", certified=not violated)
    elif violated and not cfg.force:
        gd = GDRecord.not_run(f"required propert{plural} violated: " + ", ".join(f"({e})" for e in violated),
                              certified=False)
    else:
        gd_result = run_gd(draw.X, draw.W0, draw.z0, draw.y,
                           GDConfig(cfg.eta_w, cfg.eta_z, cfg.tol, cfg.max_steps, cfg.track_every),
                           progress=on_gd, n_star=n_star_of(ctx),
                           lambda_min_H0=ctx.q.lambda_min_H0,          # shared with (29)'s details
                           dense_limit=dense_limit)
        phases["gd"] = gd_result.wall_seconds
        if violated:
            reason = "--force: run despite violated required properties " + ", ".join(violated)
        elif cfg.require == "none":
            reason = "--require none: no property required"
        else:
            reason = (f"every property required by --require {cfg.require} holds"
                      + (f" (case ({choose_case(case, all_violated)}))" if cfg.require == "regime" else ""))
        gd = GDRecord.from_result(gd_result, reason, certified=not violated)

    diag["gd_stop"] = _diagnostics.gd_stop(gd.to_json(), diag, None if gd_result is None else gd_result.errors,
                                           cfg.max_steps)
    extras = {"diagnostics": diag}
    if base is not None:
        extras["baseline"] = base.to_json()
    if dataset is not None:
        extras["dataset"] = dataset.to_json(cfg.labels, draw.S)
    verdict = Verdict.decide(tuple(violated), gd, case, verdict_counts(results, required))
    if base is not None and base.verdict_clause():
        verdict = Verdict(verdict.text + base.verdict_clause())
    cert = Certificate(
        extras=extras,
        parameters=cfg.parameters(draw, profile.name),
        inputs=inputs_of(draw),
        properties={r.eq: PropertyRecord.from_result(r) for r in results},
        required=tuple(required),
        regime=Regime.from_json(regime_report(case, gd_result, y_norm=float(np.linalg.norm(draw.y))).to_json()),
        gd=gd,
        verdict=verdict,
        provenance=_replace(provenance(command, profile, cfg.effort), extras={
            "phase_seconds": {**phases, "total": time.perf_counter() - t_start},
            "peak_rss_bytes": peak_rss_bytes(), "peak_rss_bytes_checks": peak_checks}),
        data=draw.arrays(),
    )
    return VerifyOutcome(cert, case, gd_result, draw, strict=cfg.strict)
