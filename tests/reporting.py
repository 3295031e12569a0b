"""Figures a test run reports (cases fuzzed, matrix cells, faults injected): raised as a warning,
because pytest-xdist carries warnings to the controller's summary and not what workers print.
A plain UserWarning: the controller must be able to import the warning's class."""

from __future__ import annotations

import warnings


def report(text: str) -> None:
    warnings.warn(f"run report: {text}", UserWarning, stacklevel=2)
