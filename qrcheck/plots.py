"""Figures of a sweep (paper Section 4, Figures 1-3, and the error trajectories), with matplotlib.

Drawn on ``matplotlib.figure.Figure`` objects (the Agg canvas; no pyplot, no display needed) and saved
atomically (temporary file + rename). Points are means per (S, m) over the converged runs, bars
their min-max; with a paper table, the paper's means and ranges are drawn as hollow markers beside ours.

- Figure 1: kappa_H = lambda_min(H_T) / lambda_min(H_0) against m.
- Figure 2: kappa_D = |D| / (m S) against m, with the prediction (m / (n S))^{1/3} (from (62), divided by S).
- Figure 3: kappa_W = ||W_T - W_0||_F / m^{1/2} against m (cf. (32)).
- Trajectories: ||e_t|| against t, log scale, one curve per run, coloured by S.
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


def _save(fig: Figure, path: Path) -> Path:
    """Save ``fig`` as PNG atomically (:func:`qrcheck.certificate.io.atomic_file`)."""
    with atomic_file(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=120, bbox_inches="tight")
    return path


def _colors(S_values: Sequence[int]) -> dict[int, tuple]:
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    k = max(1, len(S_values) - 1)
    return {S: cmap(0.85 * i / k) for i, S in enumerate(sorted(S_values))}


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


def _paper_series(paper: PaperTable, S: int, quantity: str,
                  scale: Callable[[int, int], float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ms, mean, lo, hi = [], [], [], []
    for row in paper.rows:
        v = row.values.get(quantity)
        if row.S != S or v is None:
            continue
        k = scale(S, row.m)
        ms.append(row.m)
        mean.append(v.mean / k)
        lo.append(max(0.0, v.mean - v.min) / k)
        hi.append(max(0.0, v.max - v.mean) / k)
    return np.asarray(ms), np.asarray(mean), np.asarray([lo, hi]).reshape(2, -1)


def _quantity_figure(cells: Sequence[CellStats], quantity: str, scale: Callable[[int, int], float],
                     ylabel: str, title: str, paper: PaperTable | None,
                     extra: Callable[[object, int, np.ndarray, tuple], None] | None = None) -> Figure:
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    S_values = sorted({c.S for c in cells} | ({r.S for r in paper.rows} if paper else set()))
    colors = _colors(S_values)
    for S in S_values:
        ms, mean, err = _series(cells, S, quantity, scale)
        if ms.size:
            ax.errorbar(ms, mean, yerr=err, color=colors[S], marker="o", ms=4, capsize=3, lw=1.2,
                        label=f"S={S} (ours)")
        if paper is not None:
            pm, pmean, perr = _paper_series(paper, S, quantity, scale)
            if pm.size:
                shift = 0.012 * (max(pm) - min(pm) + 100)
                ax.errorbar(pm + shift, pmean, yerr=perr, color=colors[S], marker="s", mfc="none", ms=5,
                            capsize=2, lw=0.8, ls="--", label=f"S={S} (paper)")
        if extra is not None:
            all_m = np.asarray(sorted({c.m for c in cells if c.S == S}
                                      | ({r.m for r in paper.rows if r.S == S} if paper else set())))
            if all_m.size:
                extra(ax, S, all_m, colors[S])
    ax.set_xlabel("m")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, ncol=2)
    return fig


def draw_all(cells: Sequence[CellStats], trajectories: Mapping[str, tuple], fig_dir: str | Path,
             paper: PaperTable | None = None) -> tuple[Path, ...]:
    """Write :data:`FIGURES` into ``fig_dir``; ``trajectories`` maps run id -> (S, m, t, ||e_t||)."""
    fig_dir = Path(fig_dir)
    fig_dir.mkdir(parents=True, exist_ok=True)
    n = cells[0].n if cells else 100
    one = lambda S, m: 1.0  # noqa: E731
    paths = []

    fig = _quantity_figure(cells, "kappa_H", one, "kappa_H = lambda_min(H_T) / lambda_min(H_0)",
                           "Figure 1: kappa_H against m", paper)
    paths.append(_save(fig, fig_dir / FIGURES[0]))

    def prediction(ax, S, ms, color):
        grid = np.linspace(min(ms), max(ms), 100)
        ax.plot(grid, (grid / (n * S)) ** (1 / 3), color=color, ls=":", lw=1.5, label=f"(m/(nS))^(1/3), S={S}")

    fig = _quantity_figure(cells, "D", lambda S, m: float(m * S), "kappa_D = |D| / (m S)",
                           "Figure 2: density of activation changes against m", paper, extra=prediction)
    paths.append(_save(fig, fig_dir / FIGURES[1]))

    fig = _quantity_figure(cells, "W_distance", lambda S, m: float(np.sqrt(m)),
                           "kappa_W = ||W_T - W_0||_F / m^(1/2)", "Figure 3: kappa_W against m", paper)
    paths.append(_save(fig, fig_dir / FIGURES[2]))

    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    colors = _colors(sorted({v[0] for v in trajectories.values()}) or [0])
    labelled = set()
    for run_id in sorted(trajectories, key=lambda k: (trajectories[k][0], trajectories[k][1], k)):
        S, m, t, e = trajectories[run_id]
        ok = np.isfinite(e) & (e > 0)
        label = f"S={S}" if S not in labelled else None
        labelled.add(S)
        ax.semilogy(t[ok], e[ok], color=colors[S], lw=0.6, alpha=0.6, label=label)
    ax.set_xlabel("t")
    ax.set_ylabel("||e_t||")
    ax.set_title(f"Error trajectories ({len(trajectories)} runs)")
    ax.grid(alpha=0.3)
    if labelled:
        ax.legend(fontsize=7)
    paths.append(_save(fig, fig_dir / FIGURES[3]))
    return tuple(paths)
