"""pytest plugin of qrcheck (entry point ``pytest11``, loaded whenever qrcheck is installed).

- ``--qrcheck-profile NAME_OR_FILE`` (default ``paper``; ini option ``qrcheck_profile``): the
  threshold profile (``paper``, ``sharp`` or a TOML file, docs/profiles.md) tests should check with.
- fixture ``qrcheck_profile``: that profile's name or path (a ``str``), to pass as
  ``qrcheck.check(..., profile=qrcheck_profile)``; an unknown profile fails the test's setup with
  the one-line :class:`qrcheck.InputError` message.
- hypothesis settings profile ``qrcheck`` (when hypothesis is installed): ``derandomize=True,
  database=None, deadline=None`` -- the same examples on every run, nothing stored between runs, no
  timing flakiness. Select it with ``pytest --hypothesis-profile qrcheck``.

Importing this module is cheap: it imports neither numpy nor hypothesis until a test asks.
"""

from __future__ import annotations

import pytest

HYPOTHESIS_PROFILE = "qrcheck"
HYPOTHESIS_SETTINGS = {"derandomize": True, "database": None, "deadline": None}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("qrcheck", "qrcheck: quasirandom properties (19)-(30)")
    group.addoption("--qrcheck-profile", action="store", default=None, metavar="PROFILE",
                    help="threshold profile for qrcheck tests: paper, sharp or a TOML file "
                         "(fixture qrcheck_profile; default: the ini option qrcheck_profile, else paper)")
    parser.addini("qrcheck_profile", "default threshold profile of the qrcheck_profile fixture", default="paper")


@pytest.hookimpl(tryfirst=True)  # before hypothesis's own plugin loads --hypothesis-profile
def pytest_configure(config: pytest.Config) -> None:
    try:
        from hypothesis import settings
    except ImportError:  # the hypothesis extra is optional
        return
    settings.register_profile(HYPOTHESIS_PROFILE, **HYPOTHESIS_SETTINGS)


def pytest_report_header(config: pytest.Config) -> str:
    return f"qrcheck profile: {_profile_spec(config)}"


def _profile_spec(config: pytest.Config) -> str:
    return config.getoption("qrcheck_profile") or config.getini("qrcheck_profile") or "paper"


def checked_profile(spec: str) -> str:
    """``spec`` if :func:`qrcheck.profiles.load_profile` reads it, else fail the test's setup with
    ``--qrcheck-profile: <the one-line InputError message>``."""
    from . import InputError
    from .profiles import load_profile

    try:
        load_profile(spec)
    except InputError as exc:
        pytest.fail(f"--qrcheck-profile: {exc}", pytrace=False)
    return spec


@pytest.fixture(scope="session")
def qrcheck_profile(pytestconfig: pytest.Config) -> str:
    """The threshold profile chosen with ``--qrcheck-profile`` (default ``paper``), checked once:
    a name or a TOML file that :func:`qrcheck.profiles.load_profile` reads."""
    return checked_profile(_profile_spec(pytestconfig))
