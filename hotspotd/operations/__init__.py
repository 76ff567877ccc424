"""Keeping a site running for months: backups and restore, retention, health checks."""
