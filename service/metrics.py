"""Prometheus metrics: commands, request latency, and gauges read from the projections at scrape time."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from media.moderation import Flag


class Metrics:
    """One registry per service, so that several services (tests) never share counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.commands = Counter("studio_commands_total", "Ledger commands handled, by command and outcome",
                                ["command", "outcome"], registry=self.registry)
        self.latency = Histogram("studio_request_seconds", "HTTP request latency, by route and status",
                                 ["method", "route", "status"], registry=self.registry,
                                 buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
        self.moderation = Counter("studio_moderation_refusals_total",
                                  "Generation requests refused by moderation, by the rule that fired and its category",
                                  ["rule", "category"], registry=self.registry)

    def refused(self, flag: Flag) -> None:
        """Count one request moderation refused, under the rule that fired."""
        self.moderation.labels(rule=flag.rule, category=flag.category).inc()

    def gauges(self, read: Callable[[], dict[str, dict[str, float]]]) -> None:
        """Expose gauges computed by ``read()`` when scraped: {metric name: {label value: value}}."""
        self.registry.register(_Gauges(read))


HELP = {
    "studio_generations": ("Generations by status", "status"),
    "studio_generation_failures": ("Failed generations by reason (timeout, content_policy, ...)", "reason"),
    "studio_held_credits": ("Credits held across all wallets", ""),
    "studio_holds_past_deadline": ("Unfinished generations whose hold is past its deadline: the sweeper has not "
                                   "failed them", ""),
    "studio_leaders": ("Processes holding each leading part's lock (projector, sweeper, relay): 0 means none leads",
                       "part"),
    "studio_database_free_connections": ("Connections the PostgreSQL server still accepts for ordinary roles", ""),
    "studio_projection_lag": ("Positions each projection is behind the ledger's head", "projection"),
    "studio_projection_failures": ("Events each projection set aside because it cannot apply them", "projection"),
    "studio_relay_lag": ("Positions the Kafka relay is behind the ledger's head", ""),
}


class _Gauges(Collector):
    def __init__(self, read: Callable[[], dict[str, dict[str, float]]]) -> None:
        self.read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for name, values in self.read().items():
            documentation, label = HELP[name]
            family = GaugeMetricFamily(name, documentation, labels=[label] if label else [])
            for value_label, value in values.items():
                family.add_metric([value_label] if label else [], value)
            yield family
