"""Figures of a sweep (paper Section 4, Figures 1-3, the error trajectories, and the empirical
constants of the properties against m), with matplotlib, in print quality.

Drawn on ``matplotlib.figure.Figure`` objects (the Agg canvas; no pyplot, no display needed) and
saved atomically (temporary file + rename) as PNG (200 dpi), PDF and SVG side by side. Points are
means per (S, m) over the converged runs, bars their min-max (the caption of every figure says so,
with n, the rates and the number of runs); with a paper table, the paper's means and ranges are
drawn as hollow markers beside ours, only for the (S, m) cells that were run. Colours are the
Okabe-Ito palette (readable in print and by colour-blind readers), with a marker per series; series
of different S are offset horizontally so that overlapping bars stay apart.

- Figure 1: kappa_H = lambda_min(H_T) / lambda_min(H_0) against m.
- Figure 2: kappa_D = |D| / (m S) against m, with the prediction (m / (n S))^{1/3} (from (62), divided by S).
- Figure 3: kappa_W = ||W_T - W_0||_F / m^{1/2} against m (cf. (32)); one panel per S.
- Trajectories: ||e_t|| against t, log scale, one curve per run, coloured and labelled by (S, m).
- Empirical constants: statistic / g of every property (19)-(30) against m, one panel each, the
  data beside its random baseline (``verify --baseline``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from .certificate.io import atomic_file

# plots imports nothing of qrcheck.sweep or qrcheck.paper (they call it): a cell is anything with
# S, m, n and quantity(name) -> a range with min, max, mean (qrcheck.sweep.CellStats); a paper table
# anything with rows of S, m and values[name] -> min, max, mean (qrcheck.paper.PaperTable)
CellStats = PaperTable = Range = Any

FIGURES = ("fig1_kappa_H.png", "fig2_D_density.png", "fig3_W_distance.png", "fig4_error_trajectories.png")
CONSTANTS_FIGURE = "fig5_empirical_constants.png"
FORMATS = ("png", "pdf", "svg")
DPI = 200
# Okabe & Ito (2008), "Color Universal Design": black first, then the seven colours
OKABE_ITO = ("#000000", "#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#F0E442")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
PROPERTY_LABELS = {
    "19": r"(19) $\max_{j\neq j'}|\langle X^j,X^{j'}\rangle|$", "20": r"(20) $\|X^J\|/(1+\sqrt{k/n})$",
    "21": r"(21) $\sigma_{\min}((X^J)^T)$", "22": r"(22) $\min_\nu\|(W_0)_\nu\|$",
    "23": r"(23) $\max(|W_0|,|z_0|)$", "24": r"(24) $|\Gamma_0|$", "25": r"(25) $\min|W_0X|$",
    "26": r"(26) $\max|W_0X|$", "27": r"(27) $\max|f_0|$", "28": r"(28) $\max k/(Sa_{(k),j}+1)$",
    "29": r"(29) $\lambda_{\min}(G_0)$", "30": r"(30) $\lambda_{\min}$ of $H_\Gamma$",
}


def _save(fig: Figure, path: Path) -> Path:
    """Save ``fig`` as PNG (``path``), and as PDF and SVG beside it, each atomically
    (:func:`qrcheck.certificate.io.atomic_file`). Returns the PNG's path."""
    path = Path(path)
    for ext in FORMATS:
        target = path.with_suffix("." + ext)
        with atomic_file(target, "wb") as fh:
            fig.savefig(fh, format=ext, dpi=DPI, bbox_inches="tight", metadata=_metadata(ext))
    return path


def _metadata(ext: str) -> dict | None:
    # reproducible PDF / SVG bytes: no creation date
    if ext == "pdf":
        return {"CreationDate": None}
    if ext == "svg":
        return {"Date": None}
    return None


def _style(S_values: Sequence[int]) -> dict[int, tuple[str, str]]:
    """S -> (colour, marker), Okabe-Ito colours (skipping yellow, faint on white) in S order."""
    colors = OKABE_ITO[:7]
    return {S: (colors[i % len(colors)], MARKERS[i % len(MARKERS)]) for i, S in enumerate(sorted(S_values))}


def _offsets(S_values: Sequence[int], ms: Sequence[int]) -> dict[int, float]:
    """A horizontal offset per S (a fraction of the smallest gap between m values) so that the
    series' bars do not overlap."""
    S_values = sorted(S_values)
    ms = sorted(set(ms))
    gap = min((b - a for a, b in zip(ms, ms[1:])), default=max(ms[0] if ms else 1, 1)) if ms else 1
    k = len(S_values)
    width = 0.35 * gap
    return {S: (0.0 if k == 1 else width * (i / (k - 1) - 0.5)) for i, S in enumerate(S_values)}


def _caption(fig: Figure, meta: Mapping[str, Any] | None, bars: str, y: float = -0.02) -> None:
    """The figure's footnote: n, the rates, the number of runs, what the points and bars are."""
    meta = dict(meta or {})
    parts = []
    if meta.get("n") is not None:
        parts.append(f"n = {meta['n']}")
    if meta.get("eta_w") is not None:
        parts.append(r"$\eta_w$ = " + _rates(meta["eta_w"]))
    if meta.get("eta_z") is not None:
        parts.append(r"$\eta_z$ = " + _rates(meta["eta_z"]))
    if meta.get("runs") is not None:
        parts.append(f"{meta['runs']} runs" + (f" ({meta['reps']} per cell)" if meta.get("reps") else ""))
    if meta.get("data"):
        parts.append(f"data: {meta['data']}")
    text = ", ".join(parts) + (". " if parts else "") + bars
    fig.text(0.01, y, text, ha="left", va="top", fontsize=7, wrap=True)


def _rates(v: Any) -> str:
    vals = v if isinstance(v, (list, tuple, set)) else [v]
    vals = sorted({float(x) for x in vals if x is not None})
    return ", ".join(f"{x:g}" for x in vals) if vals else "-"


def _series(cells: Sequence[CellStats], S: int, quantity: str,
            scale: Callable[[int, int], float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(m, mean, [mean - min, max - mean]) of ``quantity / scale(S, m)`` over the cells of this S."""
    ms, mean, lo, hi = [], [], [], []
    for c in cells:
        r = c.quantity(quantity)
        if c.S != S or r is None:
            continue
        k = scale(S, c.m)
        ms.append(c.m)
        mean.append(r.mean / k)
        lo.append((r.mean - r.min) / k)
        hi.append((r.max - r.mean) / k)
    return np.asarray(ms), np.asarray(mean), np.asarray([lo, hi]).reshape(2, -1)


def _paper_series(paper: PaperTable, S: int, quantity: str, scale: Callable[[int, int], float],
                  run: set[tuple[int, int]] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The paper's (m, mean, bars) of this S, restricted to the (S, m) cells in ``run``."""
    ms, mean, lo, hi = [], [], [], []
    for row in paper.rows:
        v = row.values.get(quantity)
        if row.S != S or v is None or (run is not None and (row.S, row.m) not in run):
            continue
        k = scale(S, row.m)
        ms.append(row.m)
        mean.append(v.mean / k)
        lo.append(max(0.0, v.mean - v.min) / k)
        hi.append(max(0.0, v.max - v.mean) / k)
    return np.asarray(ms), np.asarray(mean), np.asarray([lo, hi]).reshape(2, -1)


def _draw_series(ax, cells, S, quantity, scale, paper, run, style, dx, paper_dx) -> None:
    color, marker = style
    ms, mean, err = _series(cells, S, quantity, scale)
    if ms.size:
        ax.errorbar(ms + dx, mean, yerr=err, color=color, marker=marker, ms=4.5, capsize=3, lw=1.3,
                    label=f"$S={S}$ (ours)")
    if paper is not None:
        pm, pmean, perr = _paper_series(paper, S, quantity, scale, run)
        if pm.size:
            ax.errorbar(pm + dx + paper_dx, pmean, yerr=perr, color=color, marker=marker, mfc="white", ms=5,
                        capsize=2, lw=0.9, ls="--", label=f"$S={S}$ (paper)")


def _quantity_figure(cells: Sequence[CellStats], quantity: str, scale: Callable[[int, int], float],
                     ylabel: str, title: str, paper: PaperTable | None, meta: Mapping[str, Any] | None = None,
                     extra: Callable[[object, int, np.ndarray, tuple], None] | None = None,
                     panels: bool = False) -> Figure:
    S_values = sorted({c.S for c in cells})
    run = {(c.S, c.m) for c in cells}
    styles = _style(S_values)
    all_m = sorted({c.m for c in cells})
    offs = _offsets(S_values, all_m) if not panels else {S: 0.0 for S in S_values}
    gap = min((b - a for a, b in zip(all_m, all_m[1:])), default=100)
    paper_dx = 0.08 * gap
    if panels and len(S_values) > 1:
        cols = min(3, len(S_values))
        rows = -(-len(S_values) // cols)
        fig = Figure(figsize=(3.0 * cols + 0.6, 2.6 * rows + 0.6), layout="constrained")
        axes = np.atleast_1d(fig.subplots(rows, cols, sharex=True, squeeze=False)).ravel()
        for ax, S in zip(axes, S_values):
            _draw_series(ax, cells, S, quantity, scale, paper, run, styles[S], 0.0, paper_dx)
            ax.set_title(f"$S={S}$", fontsize=9)
            ax.grid(alpha=0.3)
            ax.set_xlabel("$m$")
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=6)
        for ax in axes[len(S_values):]:
            ax.set_visible(False)
        axes[0].set_ylabel(ylabel)
        fig.suptitle(title, fontsize=10)
    else:
        fig = Figure(figsize=(6.4, 4.2), layout="constrained")
        ax = fig.subplots()
        for S in S_values:
            _draw_series(ax, cells, S, quantity, scale, paper, run, styles[S], offs[S], paper_dx)
            if extra is not None:
                ms = np.asarray(sorted({c.m for c in cells if c.S == S}))
                if ms.size:
                    extra(ax, S, ms, styles[S][0])
        ax.set_xlabel("$m$")
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, ncol=2)
    _caption(fig, meta, "Points: mean over the runs in which GD converged; bars: min-max of those runs"
             + ("; hollow markers, dashed: the paper's mean and printed range" if paper is not None else "")
             + ("; series of different S offset horizontally for legibility" if not panels and len(S_values) > 1 else "")
             + ".")
    return fig


def _meta(cells: Sequence[CellStats], meta: Mapping[str, Any] | None) -> dict:
    d = dict(meta or {})
    if cells:
        d.setdefault("n", cells[0].n)
        d.setdefault("eta_w", sorted({e for c in cells for e in getattr(c, "eta_w", ())}))
        d.setdefault("runs", sum(getattr(c, "runs", 0) for c in cells))
    return d


def draw_all(cells: Sequence[CellStats], trajectories: Mapping[str, tuple], fig_dir: str | Path,
             paper: PaperTable | None = None, meta: Mapping[str, Any] | None = None) -> tuple[Path, ...]:
    """Write :data:`FIGURES` (PNG, with PDF and SVG beside each) into ``fig_dir``; ``trajectories``
    maps run id -> (S, m, t, ||e_t||); ``meta``: n, eta_w, eta_z, runs, reps, data for the captions."""
    fig_dir = Path(fig_dir)
    fig_dir.mkdir(parents=True, exist_ok=True)
    meta = _meta(cells, meta)
    n = meta.get("n") or 100
    one = lambda S, m: 1.0  # noqa: E731
    paths = []

    fig = _quantity_figure(cells, "kappa_H", one, r"$\kappa_H = \lambda_{\min}(H_T)/\lambda_{\min}(H_0)$",
                           r"Figure 1: $\kappa_H$ against $m$", paper, meta)
    paths.append(_save(fig, fig_dir / FIGURES[0]))

    def prediction(ax, S, ms, color):
        grid = np.linspace(min(ms), max(ms), 100)
        ax.plot(grid, (grid / (n * S)) ** (1 / 3), color=color, ls=":", lw=1.5,
                label=rf"$(m/(nS))^{{1/3}}$, $S={S}$")

    fig = _quantity_figure(cells, "D", lambda S, m: float(m * S), r"$\kappa_D = |D|/(mS)$",
                           r"Figure 2: density of activation changes against $m$", paper, meta, extra=prediction)
    paths.append(_save(fig, fig_dir / FIGURES[1]))

    fig = _quantity_figure(cells, "W_distance", lambda S, m: float(np.sqrt(m)),
                           r"$\kappa_W = \|W_T - W_0\|_F / m^{1/2}$", r"Figure 3: $\kappa_W$ against $m$",
                           paper, meta, panels=True)
    paths.append(_save(fig, fig_dir / FIGURES[2]))

    paths.append(_save(trajectory_figure(trajectories, meta), fig_dir / FIGURES[3]))
    return tuple(paths)


def trajectory_figure(trajectories: Mapping[str, tuple], meta: Mapping[str, Any] | None = None) -> Figure:
    """||e_t|| against t (log scale), one curve per run, a colour per (S, m) and a legend entry per (S, m)."""
    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.subplots()
    keys = sorted({(v[0], v[1]) for v in trajectories.values()})
    colors = {k: OKABE_ITO[i % 7] for i, k in enumerate(keys)}
    styles = {k: ("-", "--", ":", "-.")[(i // 7) % 4] for i, k in enumerate(keys)}
    labelled = set()
    for run_id in sorted(trajectories, key=lambda k: (trajectories[k][0], trajectories[k][1], k)):
        S, m, t, e = trajectories[run_id]
        t, e = np.asarray(t), np.asarray(e, dtype=float)
        ok = np.isfinite(e) & (e > 0)
        label = f"$S={S}$, $m={m}$" if (S, m) not in labelled else None
        labelled.add((S, m))
        ax.semilogy(t[ok], e[ok], color=colors[(S, m)], ls=styles[(S, m)], lw=0.9, alpha=0.8, label=label)
    ax.set_xlabel("step $t$")
    ax.set_ylabel(r"$\|e_t\|$")
    ax.set_title(f"Error trajectories of (12) ({len(trajectories)} runs)", fontsize=10)
    ax.grid(alpha=0.3)
    if labelled:
        ax.legend(fontsize=7, ncol=2 if len(labelled) > 6 else 1)
    _caption(fig, meta, "One curve per run; colour and line style by (S, m).")
    return fig


def constants_figure(points: Sequence[Mapping[str, Any]], meta: Mapping[str, Any] | None = None) -> Figure:
    """Every property's empirical constant (statistic / g) against m, one panel per property (19)-(30).

    ``points``: one mapping per run with ``S``, ``m``, ``constants`` (eq -> value or None) and
    ``baseline`` (eq -> list of the random instances' constants, possibly empty). Data: filled
    markers, mean over the runs with min-max bars; random baseline: hollow markers, dashed, median
    over all its instances with min-max bars."""
    eqs = [str(e) for e in range(19, 31)]
    S_values = sorted({p["S"] for p in points})
    styles = _style(S_values)
    all_m = sorted({p["m"] for p in points})
    offs = _offsets(S_values, all_m)
    gap = min((b - a for a, b in zip(all_m, all_m[1:])), default=100)
    fig = Figure(figsize=(11, 8.2), layout="constrained")
    axes = fig.subplots(3, 4).ravel()
    for ax, eq in zip(axes, eqs):
        drawn = False
        for S in S_values:
            color, marker = styles[S]
            xs, mean, lo, hi, bx, bmed, blo, bhi = [], [], [], [], [], [], [], []
            for m in all_m:
                vals = [p["constants"].get(eq) for p in points if p["S"] == S and p["m"] == m]
                vals = [v for v in vals if v is not None and np.isfinite(v)]
                if vals:
                    xs.append(m)
                    mean.append(np.mean(vals))
                    lo.append(np.mean(vals) - min(vals))
                    hi.append(max(vals) - np.mean(vals))
                base = [v for p in points if p["S"] == S and p["m"] == m for v in (p.get("baseline") or {}).get(eq, [])
                        if v is not None and np.isfinite(v)]
                if base:
                    med = float(np.median(base))
                    bx.append(m)
                    bmed.append(med)
                    blo.append(med - min(base))
                    bhi.append(max(base) - med)
            if xs:
                ax.errorbar(np.asarray(xs) + offs[S], mean, yerr=[lo, hi], color=color, marker=marker, ms=4,
                            capsize=2, lw=1.2, label=f"data, $S={S}$")
                drawn = True
            if bx:
                ax.errorbar(np.asarray(bx) + offs[S] + 0.08 * gap, bmed, yerr=[blo, bhi], color=color,
                            marker=marker, mfc="white", ms=4, capsize=2, lw=0.9, ls="--",
                            label=f"random, $S={S}$")
                drawn = True
        ax.set_title(PROPERTY_LABELS.get(eq, f"({eq})"), fontsize=8)
        ax.grid(alpha=0.3)
        if all_m:
            ax.set_xlim(min(all_m) - 0.3 * gap, max(all_m) + 0.3 * gap)
        ax.tick_params(labelsize=7)
        if not drawn:
            ax.text(0.5, 0.5, "no statistic", ha="center", va="center", transform=ax.transAxes, fontsize=8,
                    color="0.4")
            ax.set_xticks([])
            ax.set_yticks([])
        else:
            vals = [line.get_ydata() for line in ax.get_lines()]
            flat = np.concatenate([np.asarray(v, dtype=float) for v in vals]) if vals else np.zeros(0)
            flat = flat[np.isfinite(flat)]
            if flat.size and flat.min() > 0 and flat.max() / flat.min() > 50:
                ax.set_yscale("log")
    for ax in axes[8:]:
        ax.set_xlabel("$m$", fontsize=8)
    handles, labels = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    if handles:
        axes[0].legend(handles, labels, fontsize=6, ncol=1 + len(labels) // 6)
    fig.suptitle("Empirical constants statistic / g of (19)-(30) against $m$: data beside random draws",
                 fontsize=11)
    _caption(fig, meta, "Filled markers, solid: the data, mean over the runs with min-max bars; hollow markers, "
             "dashed: random draws of the same (n, S, m) (verify --baseline), median with min-max bars over all "
             "instances; log scale where a panel spans more than a factor 50.")
    return fig


def draw_constants(points: Sequence[Mapping[str, Any]], fig_dir: str | Path,
                   meta: Mapping[str, Any] | None = None) -> Path:
    """Write :data:`CONSTANTS_FIGURE` (PNG, PDF, SVG) into ``fig_dir``."""
    fig_dir = Path(fig_dir)
    fig_dir.mkdir(parents=True, exist_ok=True)
    return _save(constants_figure(points, meta), fig_dir / CONSTANTS_FIGURE)


def checkpoints_figure(cert: Mapping[str, Any]) -> Figure:
    """A small figure of one run: ||e_t|| (log) and, from ``--track-every``'s checkpoints,
    lambda_min(H_t) / lambda_min(H_0) and |D| against t."""
    gd = cert.get("gd") or {}
    cps = [c for c in (gd.get("checkpoints") or []) if isinstance(c, Mapping)]
    fig = Figure(figsize=(6.4, 3.0), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    traj = gd.get("error_trajectory") or []
    stride = int(gd.get("error_trajectory_stride") or 1)
    e = np.asarray([np.nan if v is None else v for v in traj], dtype=float)
    t = np.arange(e.size) * stride
    if e.size and gd.get("T") is not None and stride > 1 and gd["T"] % stride:
        t[-1] = gd["T"]
    ok = np.isfinite(e) & (e > 0)
    if ok.any():
        ax1.semilogy(t[ok], e[ok], color=OKABE_ITO[4], lw=1.2)
    if cps:
        ct = np.asarray([c.get("t") for c in cps], dtype=float)
        ce = np.asarray([np.nan if c.get("error") is None else c["error"] for c in cps], dtype=float)
        ax1.semilogy(ct, ce, "o", color=OKABE_ITO[5], ms=3, label="checkpoints")
        lam = np.asarray([np.nan if c.get("lambda_min_H") is None else c["lambda_min_H"] for c in cps], dtype=float)
        if lam.size and np.isfinite(lam[0]) and lam[0] > 0:
            ax2.plot(ct, lam / lam[0], "-o", color=OKABE_ITO[3], ms=3, label=r"$\lambda_{\min}(H_t)/\lambda_{\min}(H_0)$")
        ax3 = ax2.twinx()
        D = np.asarray([np.nan if c.get("D") is None else c["D"] for c in cps], dtype=float)
        ax3.plot(ct, D, "-s", color=OKABE_ITO[1], ms=3, label="$|D|$")
        ax3.set_ylabel("$|D|$ (squares)", fontsize=8)
        ax2.set_ylabel(r"$\lambda_{\min}(H_t)/\lambda_{\min}(H_0)$ (dots)", fontsize=8)
        handles = [h for a in (ax1, ax2, ax3) for h in a.get_legend_handles_labels()[0]]
        labels = [lab for a in (ax1, ax2, ax3) for lab in a.get_legend_handles_labels()[1]]
        fig.legend(handles, labels, loc="outside lower center", ncol=3, fontsize=7)
    else:
        ax2.text(0.5, 0.5, "no checkpoints\n(verify --track-every K)", ha="center", va="center",
                 transform=ax2.transAxes, fontsize=8, color="0.4")
    ax1.set_xlabel("step $t$")
    ax1.set_ylabel(r"$\|e_t\|$")
    ax2.set_xlabel("step $t$")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
    p = cert.get("parameters") or {}
    fig.suptitle(f"gradient descent (12): n = {p.get('n')}, S = {p.get('S')}, m = {p.get('m')}, "
                 rf"$\eta_w$ = {p.get('eta_w')}, $\eta_z$ = {p.get('eta_z')}; {gd.get('status')} at T = {gd.get('T')}",
                 fontsize=9)
    return fig


def save_checkpoints(cert: Mapping[str, Any], path: str | Path) -> Path:
    """Write :func:`checkpoints_figure` to ``path`` (PNG; PDF and SVG beside it)."""
    return _save(checkpoints_figure(cert), Path(path))
