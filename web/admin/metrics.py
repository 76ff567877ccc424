"""/metrics: the numbers an operator watches, in Prometheus text format."""

from __future__ import annotations

from datetime import datetime

from prometheus_client import CollectorRegistry, Gauge, generate_latest

from hotspotd import sync
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
    central = sync.status()
    Gauge("hotspotd_sync_waiting_events", "Events waiting to be sent to the central server",
          registry=registry).set(central["waiting"])
    Gauge("hotspotd_sync_oldest_waiting_seconds", "Age of the oldest event waiting for central (0: none)",
          registry=registry).set(central["oldest_waiting_age_s"] or 0)
    Gauge("hotspotd_sync_last_success_timestamp_seconds", "When a sync pass last succeeded (0: never)",
          registry=registry).set(_epoch(central["last_success"]))
    Gauge("hotspotd_sync_failures", "Sync passes failed in a row", registry=registry).set(central["failures"])
    Gauge("hotspotd_sync_config_version", "Central configuration version this box runs",
          registry=registry).set(central["config_version"])
    return generate_latest(registry).decode()


def _epoch(text: str | None) -> float:
    return 0.0 if not text else datetime.fromisoformat(text).timestamp()
