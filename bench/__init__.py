"""Benchmarks: what each request of the approval service costs, against the floor it cannot beat.

``python -m bench`` (or ``make bench``) measures, in one run, DynamoDB requests and capacity per
API call, cold-start import time, warm overhead over the raw DynamoDB requests, how reads scale
with data, and the throughput of local mode under load. See docs/benchmarks.md.
"""
