"""/metrics: the numbers an operator (or Prometheus) watches, in Prometheus text format.

Open to a logged-in console user, or to a scraper with `Authorization: Bearer
<[admin] metrics_token>`. Counts made by other processes (RADIUS decisions and drops,
task outcomes) are read from what they publish every few seconds (`hotspotd.plumbing.counters`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from hotspotd.plumbing import counters
from hotspotd.console import reports
from hotspotd import sync
from hotspotd.console.actions import Console


class SiteCollector:
    def __init__(self, console: Console, websockets: callable = lambda: 0) -> None:
        self.console = console
        self.websockets = websockets

    def collect(self) -> Iterator[Metric]:
        counts = reports.site_counts()
        payments = GaugeMetricFamily("hotspotd_payments", "Payments by status", labels=["status"])
        for status, count in counts["payments"].items():
            payments.add_metric([status], count)
        yield payments
        yield GaugeMetricFamily("hotspotd_subscriptions_active", "Active subscriptions",
                                value=counts["subscriptions_active"])
        yield GaugeMetricFamily("hotspotd_sessions_open", "Open sessions", value=counts["sessions_open"])
        yield GaugeMetricFamily("hotspotd_failed_tasks", "Tasks that used up their retries",
                                value=counts["failed_tasks"])

        depth = GaugeMetricFamily("hotspotd_queue_depth", "Tasks waiting in the queue", labels=["task", "state"])
        status = self.console.rt.queue.status()
        status.pop("failed", None)
        for task, states in sorted(status.items()):
            for state, count in states.items():
                depth.add_metric([task, state], count)
        yield depth
        outcomes = CounterMetricFamily("hotspotd_task_outcomes", "Task runs by outcome (done, retried, failed)",
                                       labels=["task", "outcome"])
        for label, value in sorted(counters.totals("task").items()):
            task, _, outcome = label.rpartition(":")
            outcomes.add_metric([task, outcome], value)
        yield outcomes

        decisions = counters.totals("radius_decision")
        yield CounterMetricFamily("hotspotd_radius_accepts", "RADIUS Access-Accepts sent",
                                  value=decisions.pop("ok", 0))
        rejects = CounterMetricFamily("hotspotd_radius_rejects", "RADIUS Access-Rejects sent, by reason",
                                      labels=["reason"])
        for reason, value in sorted(decisions.items()):
            rejects.add_metric([reason], value)
        yield rejects
        drops = CounterMetricFamily("hotspotd_radius_drops", "RADIUS packets dropped unanswered, by reason",
                                    labels=["reason"])
        for reason, value in sorted(counters.totals("radius_drop").items()):
            drops.add_metric([reason], value)
        yield drops

        routers = GaugeMetricFamily("hotspotd_routers", "Routers by status", labels=["status"])
        for router_status, count in sorted(reports.router_counts().items()):
            routers.add_metric([router_status], count)
        yield routers
        central = sync.status(self.console.config)
        yield GaugeMetricFamily("hotspotd_sync_waiting_events", "Events waiting to be sent to the central server",
                                value=central["waiting"])
        yield GaugeMetricFamily("hotspotd_sync_oldest_waiting_seconds",
                                "Age of the oldest event waiting for central (0: none)",
                                value=central["oldest_waiting_age_s"] or 0)
        yield GaugeMetricFamily("hotspotd_sync_last_success_timestamp_seconds",
                                "When a sync pass last succeeded (0: never)", value=_epoch(central["last_success"]))
        yield GaugeMetricFamily("hotspotd_sync_failures", "Sync passes failed in a row", value=central["failures"])
        yield GaugeMetricFamily("hotspotd_sync_config_version", "Central configuration version this box runs",
                                value=central["config_version"])
        yield GaugeMetricFamily("hotspotd_admin_websockets", "Open admin websockets", value=self.websockets())


def _epoch(text: str | None) -> float:
    return 0.0 if not text else datetime.fromisoformat(text).timestamp()


def metrics_text(console: Console, websockets: callable = lambda: 0) -> str:
    registry = CollectorRegistry()
    registry.register(SiteCollector(console, websockets))
    return generate_latest(registry).decode()
