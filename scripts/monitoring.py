"""What to watch, written from code: the Grafana dashboard (grafanalib) and, for the Kubernetes overlay, the
alert rules as a PrometheusRule and the dashboard as a ConfigMap. `make monitoring` writes them;
`--check` fails, naming the file, when a checked-in one is not what this script writes.

The alert rules themselves are written by hand in deploy/prometheus/alerts.yml (promtool tests them);
the PrometheusRule carries the same groups.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml
from grafanalib.core import (
    Dashboard,
    DataSourceInput,
    GridPos,
    RowPanel,
    Stat,
    Target,
    Template,
    Templating,
    Time,
    TimeSeries,
)

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "studio-ledger.json"
OVERLAY = ROOT / "deploy" / "kubernetes" / "overlays" / "managed" / "monitoring.yaml"
SOURCE = "${datasource}"
WIDTH = 24  # Grafana's grid


def series(title: str, *queries: tuple[str, str], unit: str = "short", description: str = "") -> TimeSeries:
    """A time series panel of ``queries`` (expression, legend)."""
    return TimeSeries(title=title, description=description, dataSource=SOURCE, unit=unit,
                      targets=[Target(expr=expr, legendFormat=legend, refId=chr(ord("A") + i), datasource=SOURCE)
                               for i, (expr, legend) in enumerate(queries)])


def stat(title: str, expr: str, *, description: str = "", red_from: float = 1) -> Stat:
    """A single figure, red from ``red_from``."""
    return Stat(title=title, description=description, dataSource=SOURCE, reduceCalc="lastNotNull",
                targets=[Target(expr=expr, refId="A", datasource=SOURCE)],
                thresholds=[{"color": "green", "value": None}, {"color": "red", "value": red_from}])


ROWS: list[tuple[str, list[Any]]] = [
    ("Now", [
        stat("Leaders missing", 'count(max by (part) (studio_leaders) == 0) or vector(0)',
             description="Leading parts (projector, sweeper, relay) no process leads"),
        stat("Holds past their deadline", "max(studio_holds_past_deadline)",
             description="Unfinished generations whose hold the sweeper has not expired"),
        stat("Events set aside", "sum(max by (projection) (studio_projection_failures))",
             description="Events a projection cannot apply (studio-ledger projections failures)"),
        stat("Free database connections", "min(studio_database_free_connections)", red_from=-1,
             description="Connections PostgreSQL still accepts for ordinary roles"),
    ]),
    ("Pipeline", [
        series("Relay lag", ("max by (relay) (studio_relay_lag_events)", "{{relay}} (unacknowledged)"),
               ("max(studio_relay_lag)", "seen by the API")),
        series("Projection lag", ("max by (projection) (studio_projection_lag)", "{{projection}}")),
        series("Dead letters", ("sum by (topic, error) (increase(studio_kafka_dead_letters_total[5m]))",
                                "{{topic}} {{error}}"), description="Messages dead-lettered per 5 minutes"),
        series("Unreadable record batches",
               ("sum by (topic, partition) (increase(studio_kafka_unreadable_batches_total[5m]))",
                "{{topic}}[{{partition}}]"), description="A consumer stalled on a batch it cannot decode"),
    ]),
    ("Generations and credits", [
        series("Generations finished", ('sum by (status) (delta(studio_generations{status=~"completed|failed"}[5m]))',
                                        "{{status}}"), description="Per 5 minutes"),
        series("Failures by reason", ("sum by (reason) (delta(studio_generation_failures[5m]))", "{{reason}}"),
               description="Per 5 minutes; content_policy: the provider's safety refusals"),
        series("Credits held", ("max(studio_held_credits)", "held")),
        series("Requests refused by the per-learner limits",
               ('sum(rate(studio_request_seconds_count{route="/v1/generations", method="POST", status="429"}[5m]))',
                "429 per second"),
               ('sum(rate(studio_request_seconds_count{route="/v1/generations", method="POST"}[5m]))',
                "requests per second"), unit="reqps"),
    ]),
    ("HTTP and the ledger", [
        series("Request latency (p95)",
               ("histogram_quantile(0.95, sum by (le, route) (rate(studio_request_seconds_bucket[5m])))",
                "{{route}}"), unit="s"),
        series("Commands", ("sum by (command, outcome) (rate(studio_commands_total[5m]))", "{{command}} {{outcome}}"),
               unit="ops"),
    ]),
]


def dashboard() -> Dashboard:
    """The dashboard: a row of figures that should be zero, then one row per part of the service."""
    panels: list[Any] = []
    y = 0
    for title, row in ROWS:
        panels.append(RowPanel(title=title, gridPos=GridPos(h=1, w=WIDTH, x=0, y=y)))
        y += 1
        width = WIDTH // len(row) if isinstance(row[0], Stat) else WIDTH // 2
        height = 4 if isinstance(row[0], Stat) else 8
        for i, panel in enumerate(row):
            panel.gridPos = GridPos(h=height, w=width, x=(i * width) % WIDTH, y=y + (i * width) // WIDTH * height)
        y += (len(row) * width + WIDTH - 1) // WIDTH * height
        panels.extend(row)
    source = Template(name="datasource", type="datasource", query="prometheus", label="Prometheus", default="")
    return Dashboard(title="Studio Ledger", uid="studio-ledger", description="What to watch: see docs/operations.md",
                     tags=["studio-ledger"], timezone="utc", time=Time("now-6h", "now"), refresh="1m",
                     templating=Templating(list=[source]), panels=panels,
                     inputs=[DataSourceInput(name="DS_PROMETHEUS", label="Prometheus", pluginId="prometheus",
                                             pluginName="Prometheus")]).auto_panel_ids()


def plain(value: Any) -> Any:
    """grafanalib's objects as JSON values (each one's public ``to_json_data``)."""
    return value.to_json_data()


def dashboard_json() -> str:
    """The dashboard as Grafana imports it."""
    return json.dumps(dashboard().to_json_data(), default=plain, indent=2, sort_keys=True) + "\n"


def overlay_yaml(dashboard_text: str) -> str:
    """The PrometheusRule (the groups of alerts.yml) and the dashboard's ConfigMap, for the managed overlay."""
    groups = yaml.safe_load(RULES.read_text())["groups"]
    rule = {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
            "metadata": {"name": "studio-ledger", "labels": {"app.kubernetes.io/name": "studio-ledger"}},
            "spec": {"groups": groups}}
    config_map = {"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": "studio-ledger-dashboard",
                               # Grafana's dashboard sidecar (kube-prometheus-stack) loads ConfigMaps with this label.
                               "labels": {"app.kubernetes.io/name": "studio-ledger", "grafana_dashboard": "1"}},
                  "data": {"studio-ledger.json": dashboard_text}}
    head = ("# Written by scripts/monitoring.py (make monitoring) from deploy/prometheus/alerts.yml and the\n"
            "# dashboard's code: edit those, not this file. For the Prometheus Operator and Grafana's sidecar.\n")
    return head + yaml.safe_dump_all([rule, config_map], sort_keys=False, width=1000)


def written() -> dict[Path, str]:
    """Every file this script writes, with its text."""
    text = dashboard_json()
    return {DASHBOARD: text, OVERLAY: overlay_yaml(text)}


def main(argv: list[str]) -> int:
    """Write the files, or with ``--check`` name each one that is not current."""
    stale = []
    for path, text in written().items():
        if "--check" in argv:
            if not path.exists() or path.read_text() != text:
                stale.append(path.relative_to(ROOT))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for path in stale:
        print(f"{path} is not current: run make monitoring", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
