"""The central receiver: many sites, one operator (docs/sync.md).

    store.py       its own database (SQLite or PostgreSQL, one code path), migrations.py
    sites.py       registering sites: id and key
    ingest.py      pushed batches: verify, refuse, deduplicate, store, acknowledge
    configlog.py   configuration central owns, as numbered changes the sites pull
    overview.py    per-site figures for the operator
    operators.py   operator logins
    receiver.py    the use cases the web app (hotspotd.web.central) calls
"""
