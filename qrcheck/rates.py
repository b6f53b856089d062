"""Section 4's learning rates for the gradient descent (12): the rule the text states and the one
that the printed Table 1 implies (docs/errata.md, erratum 12).

One name for both across code and docs: a *paper-rates rule*, ``"stated"`` or ``"implied"``
(``--paper-rates stated|implied`` on ``qrcheck verify``, ``sweep`` and ``reproduce table1``;
``qrcheck.verify(..., paper_rates=...)``; ``qrcheck.strategies.paper_grid(rule=...)``).
Standard library only: importing this module costs nothing.

The paper trains only the first layer (``eta_z = 0``, Section 4) with n = 100, S in
{100, 200, 500, 1000} and m = 100, ..., 1000 in steps of S / 10.

- ``"stated"`` (Section 4's text): ``eta_w = 1e-3``, except ``5e-4`` for S = 500 and ``2e-4`` for
  S = 1000 when m >= 900.
- ``"implied"`` (erratum 12): as ``"stated"``, except ``5e-4`` for S = 1000 and m <= 800. The printed
  S = 1000, m <= 800 rows (T = 94-189) equal S = 500's at 1e-3, while T of (12) at fixed m scales as
  1 / (eta_w S); at 1e-3 GD there converges in about half the printed T for m <= 300 and trips the
  safety valve within a few steps for m >= 400, whereas at 5e-4 all eight cells fall inside the
  printed ranges (docs/experiments.md).
"""

from __future__ import annotations

from typing import Literal

RateRule = Literal["stated", "implied"]
RULES: tuple[str, ...] = ("stated", "implied")
DEFAULT_RULE: RateRule = "stated"


def paper_rates(S: int, m: int, rule: RateRule = DEFAULT_RULE) -> tuple[float, float]:
    """Learning rates ``(eta_w, eta_z)`` of the paper's Section 4 for a run with S neurons and m points.

    Parameters
    ----------
    S : int
        Number of neurons (rows of ``W0``, shape ``(S, n)``).
    m : int
        Number of data points (columns of ``X``, shape ``(n, m)``).
    rule : {"stated", "implied"}
        ``"stated"``: Section 4's text, ``eta_w = 1e-3`` except ``5e-4`` (S = 500) and ``2e-4``
        (S = 1000) when m >= 900. ``"implied"``: as stated, except ``5e-4`` for S = 1000, m <= 800,
        the rate that reproduces the printed Table 1 (docs/errata.md, erratum 12).

    Returns
    -------
    (eta_w, eta_z) : tuple of float
        The rates of the update (12); ``eta_z`` is always 0 (the paper trains only the first layer).

    Examples
    --------
    >>> paper_rates(1000, 400)
    (0.001, 0.0)
    >>> paper_rates(1000, 400, rule="implied")
    (0.0005, 0.0)
    """
    if rule not in RULES:
        from . import InputError
        raise InputError(f"unknown paper-rates rule {rule!r}; expected one of: {', '.join(RULES)}")
    S, m = int(S), int(m)
    if m >= 900 and S == 500:
        eta_w = 5e-4
    elif m >= 900 and S == 1000:
        eta_w = 2e-4
    elif rule == "implied" and S == 1000:
        eta_w = 5e-4
    else:
        eta_w = 1e-3
    return eta_w, 0.0


def paper_eta_w(S: int, m: int, rule: RateRule = DEFAULT_RULE) -> float:
    """First-layer rate ``eta_w`` of :func:`paper_rates` (``eta_z`` is 0 in Section 4).

    >>> paper_eta_w(500, 900), paper_eta_w(1000, 100, "implied")
    (0.0005, 0.0005)
    """
    return paper_rates(S, m, rule)[0]
