"""Powertools Logger, Tracer and Metrics, created once and shared by every function."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()
