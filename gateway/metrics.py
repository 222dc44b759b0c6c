"""Prometheus metrics of one gateway: requests, results by code, pipeline step latencies."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

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
        self.lookups = Counter(
            "gateway_si_record_lookups",
            "SI-record lookups that found a record, by where its answer came from: the cache "
            "(hit) or the store (miss)",
            ["cache"],
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
            self.observe_step(name, time.perf_counter() - start)

    def observe_step(self, name: str, seconds: float) -> None:
        self.steps.labels(name).observe(seconds)

    def result(self, code: str) -> None:
        self.results.labels(code).inc()

    def replay(self, recorded: Recorded) -> None:
        """Count here what a pipeline measured in another process."""
        for name, seconds in recorded.steps:
            self.observe_step(name, seconds)
        for code in recorded.results:
            self.result(code)
        if recorded.judged_again:
            self.judged_again.inc(recorded.judged_again)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


@dataclass(frozen=True)
class Recorded:
    """What one pipeline run measured: step latencies, results, judgements made again."""

    steps: list[tuple[str, float]] = field(default_factory=list)
    results: list[str] = field(default_factory=list)
    judged_again: float = 0.0


class RecordingMetrics(Metrics):
    """Metrics of a pipeline run in a pool process (gateway.api.processes): kept as a ``Recorded``
    for the serving process to ``replay``, since its registry is the one scraped."""

    def __init__(self) -> None:
        super().__init__()
        self._recorded = Recorded()

    def observe_step(self, name: str, seconds: float) -> None:
        self._recorded.steps.append((name, seconds))

    def result(self, code: str) -> None:
        self._recorded.results.append(code)

    def recorded(self) -> Recorded:
        again = self.registry.get_sample_value("gateway_judged_again_total") or 0.0
        return Recorded(self._recorded.steps, self._recorded.results, again)
