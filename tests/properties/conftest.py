"""Hypothesis budgets for the property-based and fuzz tests (see docs/security.md).

Profile "ci" is the default: a short, derandomized run, so CI is fast and never flakes (the
same examples every run; no example database). Profile "long" runs thousands of examples per
property with no deadline, for a local hunt:

    GITOPS_GUARD_FUZZ=long .venv/bin/python -m pytest tests/properties
    .venv/bin/python -m pytest tests/properties --hypothesis-profile=long

`--hypothesis-profile` wins over the environment variable.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

ENV_VAR = "GITOPS_GUARD_FUZZ"

settings.register_profile(
    "ci",
    max_examples=100,
    derandomize=True,
    database=None,
    # Wall-clock deadlines are what makes a derandomized run flaky on a loaded runner; hangs
    # are caught by the bad-input suite's time bounds instead.
    deadline=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "long",
    max_examples=5000,
    derandomize=False,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("hypothesis_profile", None):
        return  # the hypothesis plugin has loaded the profile named on the command line
    name = os.environ.get(ENV_VAR, "").strip() or "ci"
    if name not in ("ci", "long"):
        raise pytest.UsageError(f"${ENV_VAR} must be 'ci' or 'long', not {name!r}")
    settings.load_profile(name)
