"""The operator's use cases: what the console sets going and what it shows (figures,
look-ups, reports), the audit log, admin accounts and login throttling."""
