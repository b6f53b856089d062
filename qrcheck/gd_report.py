"""What gradient descent (12) reports beside its loop: the error trajectory's compact encoding,
the activation-change set D of Appendices D and F (degrees, J, s of (62), Gamma, (60)'s norm) and
its JSON, and D as a networkx graph for the GraphML export (issue 9 moved these out of :mod:`qrcheck.gd`).

Shapes: changed (S, m) boolean D; X (n, m); A0, AT (S, m) boolean; errors (T+1,).
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field

import numpy as np

from . import InputError, spectral

# at most this many points of the error trajectory go into the JSON list (the full trajectory
# is stored as base64 float32 next to it, docs/gd.md)
TRAJECTORY_POINTS = 1000


def trajectory_stride(T: int) -> int:
    """Stride of the JSON list ``error_trajectory``: 1 up to T = TRAJECTORY_POINTS, then
    ceil(T / TRAJECTORY_POINTS), so the list has at most TRAJECTORY_POINTS + 2 entries."""
    return max(1, math.ceil(T / TRAJECTORY_POINTS))


def encode_trajectory(errors: np.ndarray) -> dict:
    """The full trajectory ||e_t||, t = 0..T, as base64 of little-endian float32 (4(T+1) bytes);
    errors beyond float32's range become inf (a diverged run's result, not a warning)."""
    with np.errstate(over="ignore"):
        a = np.ascontiguousarray(errors, dtype="<f4")
    return {"encoding": "base64", "dtype": "<f4", "length": int(a.size),
            "data": base64.b64encode(a.tobytes()).decode("ascii")}


def decode_trajectory(obj: dict) -> np.ndarray:
    """Inverse of :func:`encode_trajectory` (float64 array of length ``obj['length']``).

    Raises :class:`qrcheck.InputError` when the object is malformed."""
    try:
        if obj["encoding"] != "base64" or obj["dtype"] != "<f4":
            raise ValueError("unsupported encoding")
        a = np.frombuffer(base64.b64decode(obj["data"], validate=True), dtype="<f4")
        if a.size != int(obj["length"]):
            raise ValueError("length mismatch")
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"malformed error_trajectory_f32 ({exc})") from None
    return a.astype(np.float64)


@dataclass(frozen=True)
class ActivationChanges:
    """The activation-change set D of Appendix D as a bipartite graph, neurons vs data points.

    D = {(nu, j) : sigma'((W_t)_nu X^j) != sigma'((W_0)_nu X^j) for some t <= T} (S x m boolean
    ``changed``); D^j = {nu : (nu, j) in D}, D_nu = {j : (nu, j) in D}.

    data_degrees : (m,) |D^j|;  neuron_degrees : (S,) |D_nu|.
    J : the min(m, n) data points of largest |D^j| (ties broken by the smaller index), in
        decreasing degree (Appendix D).
    s_low, s_high : every s with s_high = min_{j in J} |D^j| >= s >= max_{j not in J} |D^j| = s_low
        works in (62) (s_low = 0 when J = [m]).
    n_star : the n* of (21) used for Gamma; Gamma = {nu : |D_nu| <= n*} (Appendix F).
    co_Gamma : |[S] minus Gamma| for the accumulated D.
    max_step_flips : the largest number of pairs whose activation flipped in one step.
    max_step_co_Gamma : Appendix F takes D = supp(A_t - A_tau) within one step; the largest
        number of neurons with more than n* flips in one step.
    steps_over_n_star : the steps in which some neuron flipped more than n* activations.
    norm_60 : ||(A_T - A_0) * X||, the spectral norm of the Khatri-Rao product in (60), computed
        as lambda_max((X^T X) o (Delta^T Delta))^{1/2}, Delta = A_T - A_0 (identity (7)).
    """

    data_degrees: np.ndarray = field(repr=False)
    neuron_degrees: np.ndarray = field(repr=False)
    J: np.ndarray = field(repr=False)
    s_low: int
    s_high: int
    n_star: int
    co_Gamma: int
    max_step_flips: int
    max_step_co_Gamma: int
    steps_over_n_star: int
    norm_60: float

    @property
    def D(self) -> int:
        return int(self.data_degrees.sum())

    @property
    def max_data_degree(self) -> int:
        """max_j |D^j| (Appendix D proves max_{j in J} |D^j| <= o~(S))."""
        return int(self.data_degrees.max(initial=0))

    @property
    def max_neuron_degree(self) -> int:
        return int(self.neuron_degrees.max(initial=0))

    def to_json(self) -> dict:
        return {"D": self.D, "max_data_degree": self.max_data_degree,
                "mean_data_degree": float(self.data_degrees.mean()) if self.data_degrees.size else 0.0,
                "max_neuron_degree": self.max_neuron_degree,
                "mean_neuron_degree": float(self.neuron_degrees.mean()) if self.neuron_degrees.size else 0.0,
                "J": [int(j) for j in self.J], "s_low": self.s_low, "s_high": self.s_high,
                "n_star": self.n_star, "Gamma": int(self.neuron_degrees.size - self.co_Gamma),
                "co_Gamma": self.co_Gamma, "max_step_flips": self.max_step_flips,
                "max_step_co_Gamma": self.max_step_co_Gamma, "steps_over_n_star": self.steps_over_n_star,
                "norm_60": self.norm_60}


def norm_khatri_rao_change(X: np.ndarray, A0: np.ndarray, AT: np.ndarray, *,
                           dense_limit: int = spectral.DENSE_M_LIMIT) -> float:
    """||(A_T - A_0) * X||, X (n, m), A0, AT (S, m) boolean: by (7) its square is
    lambda_max((X^T X) o (Delta^T Delta)), Delta = A_T - A_0; the Sn x m product is never formed,
    and above ``dense_limit`` neither is the m x m matrix (Lanczos, :mod:`qrcheck.spectral`)."""
    Delta = AT.astype(np.float64) - A0.astype(np.float64)
    lam = spectral.lambda_max_khatri_rao(Delta, X, dense_limit=dense_limit).value
    return math.sqrt(max(lam, 0.0))


def activation_changes(changed: np.ndarray, n: int, n_star: int, step_flips: np.ndarray,
                       max_step_co_Gamma: int, steps_over_n_star: int, norm_60: float) -> ActivationChanges:
    """Degrees |D^j|, |D_nu|, the set J and the interval of s in (62), and Gamma (Appendix F).

    changed : (S, m) boolean D; n : input dimension (|J| = min(m, n)); n_star : n* of (21);
    step_flips : (T,) flips per step; the last three arguments come from :func:`run_gd`.
    """
    S, m = changed.shape
    data_deg = np.count_nonzero(changed, axis=0).astype(np.int64)
    neuron_deg = np.count_nonzero(changed, axis=1).astype(np.int64)
    k = min(m, n)
    order = np.lexsort((np.arange(m), -data_deg))      # decreasing degree, then increasing index
    J = order[:k]
    s_high = int(data_deg[J].min()) if k else 0
    s_low = int(data_deg[order[k:]].max()) if k < m else 0
    return ActivationChanges(
        data_degrees=data_deg, neuron_degrees=neuron_deg, J=J, s_low=s_low, s_high=s_high,
        n_star=int(n_star), co_Gamma=int(np.count_nonzero(neuron_deg > n_star)),
        max_step_flips=int(step_flips.max(initial=0)), max_step_co_Gamma=int(max_step_co_Gamma),
        steps_over_n_star=int(steps_over_n_star), norm_60=float(norm_60))


def change_graph(changed: np.ndarray):
    """D as a networkx bipartite graph: nodes ``nu<k>`` (neurons, bipartite=0) and ``x<j>`` (data
    points, bipartite=1), an edge per pair (nu, j) in D. changed : (S, m) boolean.

    networkx is the optional extra ``graph``; raises :class:`qrcheck.InputError` when missing."""
    try:
        import networkx as nx
    except ImportError:
        raise InputError("--export-graph needs networkx: pip install 'qrcheck[graph]'") from None
    S, m = changed.shape
    g = nx.Graph(name="activation changes D (Appendix D)")
    g.add_nodes_from((f"nu{k}", {"bipartite": 0, "kind": "neuron", "index": k}) for k in range(S))
    g.add_nodes_from((f"x{j}", {"bipartite": 1, "kind": "data", "index": j}) for j in range(m))
    rows, cols = np.nonzero(changed)
    g.add_edges_from((f"nu{k}", f"x{j}") for k, j in zip(rows.tolist(), cols.tolist()))
    return g
