"""Powertools Logger, Tracer and Metrics, created once and shared by every function."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "approval-service"

logger = Logger(service=os.getenv("POWERTOOLS_SERVICE_NAME", SERVICE))
tracer = Tracer(service=os.getenv("POWERTOOLS_SERVICE_NAME", SERVICE))
# The namespace has a default so that importing the layer never depends on the environment order.
metrics = Metrics(namespace=os.getenv("POWERTOOLS_METRICS_NAMESPACE", "ApprovalService"))
