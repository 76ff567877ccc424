"""The demo's central receiver: a receiver on SQLite in the demo's state folder, the demo
site registered with it, and an operator login (the admin page's password), so that
`hotspotd demo` shows sync working from the first minute."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..central.operators import add_operator
from ..central.sites import add_site
from ..central.store import Site, open_central_store
from ..store.db import utcnow

SITE_NAME = "Demo Hotspot"


@dataclass(frozen=True)
class DemoCentral:
    config_path: Path
    url: str
    box_section: str  # the [central] section of the demo site's config


def prepare_central(state: Path, port: int, password: str) -> DemoCentral:
    folder = state / "central"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    database = f"sqlite:///{folder.resolve() / 'central.db'}"
    config_path = folder / "central.ini"
    config_path.write_text(f"# Written by `hotspotd demo`: the demo's central receiver.\n[site]\nname = Demo operator\n"
                           f"state_dir = {folder}\n\n[receiver]\nlisten = 127.0.0.1:{port}\ndatabase = {database}\n")
    store = open_central_store(database)
    try:
        site = Site.get_or_none(Site.name == SITE_NAME)
        if site is None:
            registration = add_site(store, SITE_NAME, utcnow())
            site_id, key = registration.site_id, registration.site_key
        else:  # an earlier demo's receiver: the same site and key
            site_id, key = site.id, site.key
        add_operator(store, "admin", password, utcnow(), replace=True)
    finally:
        store.close()
    url = f"http://127.0.0.1:{port}"
    section = (f"\n[central]\nurl = {url}\nsite_id = {site_id}\nsite_key = {key}\ninterval = 10\nmax_backoff = 10\n"
               "allow_insecure = yes\n")  # loopback, this machine only
    return DemoCentral(config_path, url, section)
