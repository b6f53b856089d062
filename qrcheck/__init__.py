"""qrcheck: the quasirandom properties (19)-(30) of Razborov's "Improved Convergence
Guarantees for Shallow Neural Networks", checked on actual numbers.

The Python API (docs/api.md; CONTRACT "Python API"):

- :func:`check` -- the twelve properties on in-memory arrays, a :class:`~qrcheck.api.Report`;
- :func:`verify` -- what ``qrcheck verify`` does, a :class:`Certificate`;
- :class:`Certificate` -- frozen; ``to_json``/``from_json``/``write``/``exit_code``;
- :class:`Status` -- the property statuses, an Enum whose values are the strings;
- :func:`audit` -- the independent audit of a certificate, an ``AuditReport``;
- :class:`InputError` -- bad input, the CLI's one-line message;
- :mod:`qrcheck.strategies` -- hypothesis strategies (extra ``hypothesis``);
- :mod:`qrcheck.testing` -- assertion helpers; :mod:`qrcheck.rates` -- Section 4's learning rates.

Every name but :class:`InputError` is loaded on first use, so ``import qrcheck`` imports neither
numpy, scipy, typer nor rich.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["Certificate", "InputError", "Report", "Status", "audit", "check", "paper_rates", "rates",
           "strategies", "testing", "verify", "__version__"]


class InputError(ValueError):
    """Bad input or usage; the CLI prints its message as one line and exits with 2."""


# name -> (module, attribute or None for the module itself)
_LAZY = {
    "check": ("qrcheck.api", "check"),
    "Report": ("qrcheck.api", "Report"),
    "Certificate": ("qrcheck.certificate.records", "Certificate"),
    "Status": ("qrcheck.results", "Status"),
    "paper_rates": ("qrcheck.rates", "paper_rates"),
    "rates": ("qrcheck.rates", None),
    "strategies": ("qrcheck.strategies", None),
    "testing": ("qrcheck.testing", None),
}

if TYPE_CHECKING:  # pragma: no cover
    from . import rates, strategies, testing
    from .api import Report, audit, check, verify
    from .certificate.records import Certificate
    from .rates import paper_rates
    from .results import Status


def _callable_module(module_name: str, api_name: str) -> Any:
    """Make the submodule ``module_name`` (``qrcheck.verify``, ``qrcheck.audit``) callable as
    ``qrcheck.api.<api_name>``: importing a submodule binds its name on this package, so the
    module itself must be the function the API promises (``qrcheck.verify(X, S=40)``); its other
    names stay reachable (``qrcheck.verify.VerifyConfig``). Idempotent; returns the module."""
    import sys
    import types

    mod = sys.modules[module_name]
    if not isinstance(mod, _CallableModule):
        mod.__class__ = _CallableModule
        mod.__api_name__ = api_name
    return mod


class _CallableModule(__import__("types").ModuleType):
    """A module that is also the API function of the same name (see :func:`_callable_module`)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.__api_name__ == "audit":  # the trusted kernel: never through api (verify side), issue 11
            return getattr(self, "audit")(*args, **kwargs)
        from . import api

        return getattr(api, self.__api_name__)(*args, **kwargs)

    @property
    def __signature__(self) -> Any:  # inspect.signature(qrcheck.verify) is the function's, not (*args)
        import inspect

        if self.__api_name__ == "audit":
            return inspect.signature(getattr(self, "audit"))
        from . import api

        return inspect.signature(getattr(api, self.__api_name__))


def __getattr__(name: str) -> Any:
    if name in ("verify", "audit"):
        return _callable_module(importlib.import_module(f"qrcheck.{name}").__name__, name)
    if name in _LAZY:
        module, attr = _LAZY[name]
        mod = importlib.import_module(module)
        value = mod if attr is None else getattr(mod, attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'qrcheck' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
