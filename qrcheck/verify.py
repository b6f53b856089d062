"""``qrcheck verify`` as a library function: draw, check (19)-(30), gate, run GD, certify."""

from __future__ import annotations

import datetime as _dt
import platform
import sys
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import scipy

from . import InputError, __version__
from .context import Context, Effort
from .draw import Draw, make_draw
from .gd import GDConfig, GDResult, run_gd
from .profiles import Profile, load_profile
from .properties import registry
from .regime import Case, choose_case, classify, required_properties
from .regime import report as regime_report
from .results import PropertyResult, Status
from .certificate.io import SCHEMA_ID, sha256_of
from .draw import random_stream_fingerprint


@dataclass(frozen=True)
class VerifyConfig:
    """Everything ``qrcheck verify`` takes (CONTRACT defaults, paper Section 4)."""

    n: int | None = 100
    S: int | None = 500
    m: int | None = 300
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

    def validate(self) -> None:
        for name in ("eta_w", "eta_z", "tol"):
            v = getattr(self, name)
            if not np.isfinite(v) or v < 0:
                raise InputError(f"--{name.replace('_', '-')} must be a finite number >= 0, got {v}")
        if self.eta_w + self.eta_z <= 0 and not self.no_gd:
            raise InputError("--eta-w + --eta-z must be > 0 (or pass --no-gd)")
        if self.tol <= 0:
            raise InputError(f"--tol must be > 0, got {self.tol}")
        if self.max_steps < 0:
            raise InputError(f"--max-steps must be >= 0, got {self.max_steps}")
        if self.track_every < 0:
            raise InputError(f"--track-every must be >= 0, got {self.track_every}")
        if self.require not in ("regime", "all", "none"):
            raise InputError(f"--require must be regime, all or none, got {self.require!r}")
        e = self.effort
        if e.subset_samples < 0 or e.restarts < 1 or e.iterations < 1:
            raise InputError("search effort must have subset_samples >= 0, restarts >= 1, iterations >= 1")
        if e.time_budget is not None and not e.time_budget > 0:
            raise InputError(f"--time-budget must be > 0 seconds, got {e.time_budget}")


@dataclass(frozen=True)
class VerifyOutcome:
    """Result of a verify run: the certificate and the objects it was built from."""

    certificate: dict
    results: tuple[PropertyResult, ...]
    case: Case
    required: tuple[str, ...]
    gd: GDResult | None
    exit_code: int
    draw: Draw | None = None


def provenance(command: list[str] | None, profile: Profile, effort: Effort) -> dict:
    try:
        blas = np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})  # type: ignore[union-attr]
        blas = {"name": blas.get("name"), "version": blas.get("version"),
                "configuration": blas.get("openblas configuration")}
    except Exception:  # noqa: BLE001 - older numpy has no dict mode
        blas = {"name": None, "version": None, "configuration": None}
    return {"qrcheck": __version__, "python": platform.python_version(), "numpy": np.__version__,
            "scipy": scipy.__version__, "blas": blas, "platform": platform.platform(),
            "command": list(command) if command is not None else list(sys.argv),
            "profile": profile.to_dict(), "search_effort": effort.to_dict(),
            "random_stream": random_stream_fingerprint()}


def verify(cfg: VerifyConfig, *, on_check: Callable[[str, str], None] | None = None,
           on_search: Callable[[str, str, float], None] | None = None,
           on_gd: Callable[[int, float], None] | None = None, command: list[str] | None = None,
           draw: Draw | None = None) -> VerifyOutcome:
    """Run verify; raises :class:`qrcheck.InputError` on bad input (nothing is written here)."""
    cfg.validate()
    profile = load_profile(cfg.profile)
    if draw is None:
        draw = make_draw(n=cfg.n, S=cfg.S, m=cfg.m, seed=cfg.seed, z_dist=cfg.z_dist, labels=cfg.labels,
                         X=cfg.X, W0=cfg.W0, z0=cfg.z0, y=cfg.y, normalize=cfg.normalize)
    ctx = Context(draw, profile, cfg.effort, on_search=on_search)
    results = []
    for checker in registry():
        if on_check:
            on_check(checker.eq, checker.name)
        results.append(checker.check(ctx))
    results = tuple(results)
    case = classify(draw.n, draw.S, draw.m, cfg.eta_w, cfg.eta_z)
    all_violated = {r.eq for r in results if r.status is Status.VIOLATED}
    required = required_properties(cfg.require, case, [r.eq for r in results], all_violated)
    violated = [r.eq for r in results if r.eq in required and r.status is Status.VIOLATED]

    gd_result: GDResult | None = None
    if cfg.no_gd:
        gd_json = {"ran": False, "status": "not_run", "reason": "--no-gd"}
    elif violated and not cfg.force:
        gd_json = {"ran": False, "status": "not_run",
                   "reason": "required propert" + ("y" if len(violated) == 1 else "ies") + " violated: "
                             + ", ".join(f"({e})" for e in violated)}
    else:
        gd_result = run_gd(draw.X, draw.W0, draw.z0, draw.y,
                           GDConfig(cfg.eta_w, cfg.eta_z, cfg.tol, cfg.max_steps, cfg.track_every),
                           progress=on_gd, n_star=profile.n_star_for(ctx))
        gd_json = gd_result.to_json()
        if violated:
            gd_json["reason"] = "--force: run despite violated required properties " + ", ".join(violated)
        elif cfg.require == "none":
            gd_json["reason"] = "--require none: no property required"
        else:
            gd_json["reason"] = (f"every property required by --require {cfg.require} holds"
                                 + (f" (case ({choose_case(case, all_violated)}))" if cfg.require == "regime" else ""))
    for k in ("T", "final_error", "kappa_H", "D", "W_distance", "z_distance", "wall_seconds",
              "seconds_per_step"):
        gd_json.setdefault(k, None)
    gd_json["certified"] = not violated

    failed_gd = gd_result is not None and gd_result.status != "converged"
    if violated:
        verdict = ("fail: required propert" + ("y" if len(violated) == 1 else "ies") + " violated "
                   + ", ".join(f"({e})" for e in violated))
        if gd_result is not None:
            verdict += f"; gradient descent (forced) {gd_result.status}"
    elif failed_gd:
        verdict = f"fail: gradient descent {gd_result.status} after T = {gd_result.T} steps"
    elif gd_result is None:
        verdict = "pass: every required property holds; gradient descent not run"
    else:
        verdict = f"pass: every required property holds; gradient descent converged in T = {gd_result.T} steps"
    if not case.theorem_applies:
        why = [w for w, bad in (("rates outside (15)", not case.rates_ok),
                                ("m > o~(S)", not case.condition("m_S").holds),
                                ("no case (16)-(18) holds", not case.applicable)) if bad]
        verdict += f" (outside Theorem 2.3: {'; '.join(why)}; nearest case ({case.case}))"
    exit_code = 1 if (violated or failed_gd) else 0

    cert = {
        "schema": SCHEMA_ID,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "parameters": {"n": draw.n, "S": draw.S, "m": draw.m, "seed": draw.seed, "eta_w": cfg.eta_w,
                       "eta_z": cfg.eta_z, "profile": profile.name, "z_dist": draw.z_dist,
                       "labels": draw.labels, "tol": cfg.tol, "max_steps": cfg.max_steps, "track_every": cfg.track_every,
                       "require": cfg.require, "normalized": draw.normalized, "force": cfg.force,
                       "no_gd": cfg.no_gd},
        "inputs": {k: {"sha256": sha256_of(a), "shape": list(a.shape), "dtype": "float64",
                       "source": draw.sources.get(k, "sampled")} for k, a in draw.arrays().items()},
        "properties": {r.eq: r.to_json() for r in results},
        "required": list(required),
        "regime": regime_report(case, gd_result, y_norm=float(np.linalg.norm(draw.y))).to_json(),
        "gd": gd_json,
        "verdict": verdict,
        "provenance": provenance(command, profile, cfg.effort),
    }
    return VerifyOutcome(cert, results, case, required, gd_result, exit_code, draw)
