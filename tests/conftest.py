"""Shared configuration for the whole test tree.

Hypothesis runs derandomized (a fixed seed derived from each test) so that every run, here
and in CI, executes the same examples: tests are deterministic. Set HYPOTHESIS_PROFILE=explore
to search with fresh random examples locally.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "deterministic",
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile("explore", deadline=None, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))
