"""Prometheus metrics of one gateway: requests, results by code, pipeline step latencies."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

_STEP_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2.0)


class Metrics:
    """One registry per gateway instance (several can live in one test process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "gateway_requests",
            "HTTP requests by route, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.results = Counter(
            "gateway_results",
            "Submission and item results by SPEC code (ACCEPTED for an accepted item)",
            ["code"],
            registry=self.registry,
        )
        self.judged_again = Counter(
            "gateway_judged_again",
            "Batches judged again because another submission wrote to a visit list that their "
            "judgement read (a race between workers about the same visit or card)",
            registry=self.registry,
        )
        self.steps = Histogram(
            "gateway_pipeline_step_seconds",
            "Latency of each pipeline step",
            ["step"],
            buckets=_STEP_BUCKETS,
            registry=self.registry,
        )

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.steps.labels(name).observe(time.perf_counter() - start)

    def result(self, code: str) -> None:
        self.results.labels(code).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
