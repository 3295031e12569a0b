"""Figures a test run reports (cases fuzzed, matrix cells, faults injected): raised as a warning,
because pytest-xdist carries warnings to the controller's summary and not what workers print."""

from __future__ import annotations

import warnings


class RunReport(UserWarning):
    pass


def report(text: str) -> None:
    warnings.warn(RunReport(text), stacklevel=2)
