"""/metrics: the numbers an operator watches, in Prometheus text format."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge, generate_latest

from hotspotd.reports import site_counts


def metrics_text() -> str:
    counts = site_counts()
    registry = CollectorRegistry()
    payments = Gauge("hotspotd_payments", "Payments by status", ["status"], registry=registry)
    for status, count in counts["payments"].items():
        payments.labels(status).set(count)
    Gauge("hotspotd_subscriptions_active", "Active subscriptions", registry=registry).set(counts["subscriptions_active"])
    Gauge("hotspotd_sessions_open", "Open sessions", registry=registry).set(counts["sessions_open"])
    Gauge("hotspotd_failed_tasks", "Tasks that used up their retries", registry=registry).set(counts["failed_tasks"])
    return generate_latest(registry).decode()
