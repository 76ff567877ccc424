"""`hotspotd demo`: a whole site on this machine, on the embedded defaults.

It starts the Daraja, RouterOS and Africa's Talking (SMS) simulators, writes a config that points at them, creates the
databases, sample packages, a demo router and an admin login (printed), then runs every
role as `hotspotd run` would. Everything listens on 127.0.0.1. A second run reuses the
state folder (and says so); `--fresh` starts from empty databases.
"""

from __future__ import annotations

import os
import secrets
import shutil
import threading
from pathlib import Path

from ..phone import mask

from ..store.db import utcnow
from ..plumbing.processes import PROCESSES
from ..plumbing.supervisor import role_command, supervise
from .daraja import DarajaSimulator
from .demo_central import prepare_central
from .routeros import RouterOSSimulator
from .sms import SmsSimulator

# the device of the portal link the demo prints: the router sees it at 10.5.50.2, and the
# box (the browser on this machine) at 127.0.0.1, as a box beside a router sees a device
DEMO_DEVICE = {"mac": "AA:BB:CC:DD:EE:01", "ip": "10.5.50.2", "seen_as": "127.0.0.1"}

SAMPLE_PACKAGES = (
    {"name": "1 hour", "price": 10, "duration": "1h", "rate": "2M/5M"},
    {"name": "1 day", "price": 50, "duration": "1d", "rate": "3M/6M", "data": "3GB"},
    {"name": "1 week", "price": 250, "duration": "1w", "rate": "5M/10M", "devices": 2},
)


def default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "hotspotd-demo"


def _secret(path: Path) -> str:
    """A random secret kept across demo runs, so a restarted demo keeps its logins."""
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(18)
    path.write_text(value + "\n")
    path.chmod(0o600)
    return value


def write_config(state: Path, *, daraja_url: str, portal_port: int, admin_port: int, radius_port: int,
                 sms_url: str = "", certificate: Path | None = None) -> Path:
    token = _secret(state / "callback-token")
    initiator = (f"initiator = testapi\ninitiator_password = Sim-Initiator#1\ncertificate = {certificate}\n"
                 if certificate else "")
    texts = (f"\n[sms]\nprovider = africastalking\nbase_url = {sms_url}\nusername = sim-user\n"
             "api_key = sim-api-key\n") if sms_url else ""
    text = f"""# Written by `hotspotd demo`; every setting is explained in config.example.ini.
[site]
name = Demo Hotspot
state_dir = {state}
# A laptop or a container may not run NTP; a site keeps the default (yes).
require_ntp = no

[portal]
listen = 127.0.0.1:{portal_port}
public_url = http://127.0.0.1:{portal_port}

[admin]
listen = 127.0.0.1:{admin_port}

[radius]
listen = 127.0.0.1
auth_port = {radius_port}
acct_port = {radius_port + 1}

[queue]
reconcile_interval = 5

[mpesa]
base_url = {daraja_url}
consumer_key = sim-key
consumer_secret = sim-secret
shortcode = 174379
passkey = bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919
callback_token = {token}
query_after = 20
pending_timeout = 120
paybill = 174379
pull_interval = 60
{initiator}{texts}"""
    path = state / "demo.ini"
    path.write_text(text)
    return path


def seed(config, router_secret: str, api_port: int = 8728, coa_port: int = 3799) -> str:
    """Sample packages and a demo router once; a fresh admin password every start."""
    from ..console.admins import hash_password
    from ..billing import packages
    from ..router import add_router
    from ..store import init_store, write_transaction
    from ..store.models import AdminUser, Router

    init_store(config)
    now = utcnow()
    if not packages.list_packages(include_inactive=True, service=None):
        for sample in SAMPLE_PACKAGES:
            packages.add_package(now=now, **sample)
    if not Router.select().where(Router.name == "demo-router").exists():
        add_router(name="demo-router", host="127.0.0.1", api_port=api_port, api_user="admin",
                           api_password="", secret=router_secret, nas_ip="127.0.0.1", coa_port=3799, now=now)
    with write_transaction():  # the RouterOS simulator listens on new ports each run
        Router.update(api_port=api_port, coa_port=coa_port).where(Router.name == "demo-router").execute()
    password = secrets.token_urlsafe(9)
    hashed = hash_password(password)
    with write_transaction():
        AdminUser.insert(username="admin", password_hash=hashed, created_at=now).on_conflict(
            conflict_target=[AdminUser.username], update={AdminUser.password_hash: hashed}
        ).execute()
    return password


def seat_devices(router) -> None:
    """Fill the simulated router's host table as phones joining its WiFi would, so the portal
    can ask it who is asking: the printed link's device, and any other browser on a
    127.x.y.z address as a device of its own (MAC AA:BB:CC and the address's last octets)."""
    router.connect_device(DEMO_DEVICE["mac"], DEMO_DEVICE["ip"], to_address=DEMO_DEVICE["seen_as"])
    router.auto_hosts("127.0.0.0/8")


def register_paybill(runtime) -> None:
    """Register the portal's Paybill (C2B) URLs with the simulator, as `mpesa register-c2b` does."""
    config = runtime.config
    runtime.daraja.register_c2b(short_code=config.mpesa.paybill, confirmation_url=config.c2b_confirmation_url,
                                validation_url=config.c2b_validation_url)


def register_pull(runtime) -> None:
    """Register the Paybill with the simulator's Pull Transactions, as `mpesa register-pull` does."""
    from ..mpesa.pull import PullTransactions

    config = runtime.config
    PullTransactions(runtime.daraja, config.mpesa.paybill).register(nominated_number="0722000000",
                                                                    callback_url=config.c2b_confirmation_url)


def show_texts(sms: SmsSimulator, stop: threading.Event) -> threading.Thread:
    """Print every text the site hands to the SMS simulator, as the customer's phone would show it."""
    def watch() -> None:
        shown = 0
        while not stop.wait(0.5):
            for message in sms.messages[shown:]:
                fields = message["fields"]
                print(f"SMS to {mask(fields['to'].lstrip('+'))} (the simulator; a real gateway would send it): "
                      f"{fields['message']}", flush=True)
            shown = len(sms.messages)

    thread = threading.Thread(target=watch, name="demo-sms", daemon=True)
    thread.start()
    return thread


def deploy_router(runtime) -> str:
    """Configure the simulated router through its API, as a technician's `router deploy`
    does at a new site: after it the router asks hotspotd over RADIUS, and a paying device
    is logged in without typing anything. The simulator starts empty on every run."""
    from ..router import operations

    lines: list[str] = []
    ok = operations.deploy(runtime, "demo-router", report=lines.append)
    return "configured through its API" if ok else f"not configured: {lines[-1].strip() if lines else 'no answer'}"


def prepare_state(state: Path, fresh: bool) -> str:
    """Make the state folder; say whether an earlier demo's data is kept."""
    if fresh and state.exists():
        shutil.rmtree(state)
        note = f"started afresh in {state} (--fresh)"
    elif (state / "hotspotd.db").exists():
        note = (f"reusing the earlier demo's data in {state} (its payments, customers and vouchers); "
                "`hotspotd demo --fresh` starts from empty databases")
    else:
        note = f"new demo site in {state}"
    state.mkdir(parents=True, exist_ok=True, mode=0o700)
    return note


def run_demo(*, state_dir: str | None, fresh: bool = False, portal_port: int, admin_port: int, radius_port: int,
             daraja_port: int, central_port: int = 8090) -> int:
    from .. import config as config_mod
    from ..plumbing.runtime import Runtime

    state = Path(state_dir) if state_dir else default_state_dir()
    note = prepare_state(state, fresh)
    print(f"hotspotd demo: {note}", flush=True)
    router_secret = _secret(state / "radius-secret")
    with DarajaSimulator(port=daraja_port, callback_delay=3.0) as daraja, RouterOSSimulator() as routeros, \
            SmsSimulator() as sms:
        seat_devices(routeros.router)
        path = write_config(state, daraja_url=daraja.url, portal_port=portal_port, admin_port=admin_port,
                            radius_port=radius_port, sms_url=sms.url,
                            certificate=daraja.initiator.write_certificate(state / "daraja-sim.cer"))
        config = config_mod.load(path)
        sms.report_url = config.sms_report_url
        password = seed(config, router_secret, routeros.port, routeros.coa_port)
        with Runtime(config) as runtime:
            register_paybill(runtime)
            register_pull(runtime)
            deployed = deploy_router(runtime)
        central = prepare_central(state, central_port, password)
        with path.open("a") as ini:
            ini.write(central.box_section)

        def ready(children) -> None:
            print(f"""
hotspotd demo is running (Ctrl-C stops it). State and config: {state}
  captive portal  http://127.0.0.1:{portal_port}/?mac={DEMO_DEVICE["mac"]}&ip={DEMO_DEVICE["ip"]}
                  (the simulated router sees this browser as that device; a browser on another
                  127.x.y.z address is a device of its own)
  admin page      http://127.0.0.1:{admin_port}/   login: admin / {password}
  Daraja sim      {daraja.url}  (every push is paid after 3 s; to make the next one end otherwise:
                  curl -d '{{"outcome":"cancelled","times":1}}' {daraja.url}/__sim__/outcome
                  outcomes: success cancelled timeout insufficient no_callback duplicate;
                  without "times" the outcome holds for every later push)
  Paybill         pay the account number the portal shows (business number 174379) by hand:
                  curl -d '{{"amount":10,"phone":"254712345678","account":"ACCOUNT"}}' {daraja.url}/__sim__/paybill
                  (lose its confirmation first, and the worker's Pull Transactions finds it within a minute:
                  curl -d '{{"drop_confirmations":true}}' {daraja.url}/__sim__/pull)
  SMS sim         {sms.url}  every text the site sends is printed here ("SMS to ...")
  RADIUS          127.0.0.1:{radius_port} (accounting {radius_port + 1}), client 127.0.0.1, secret {router_secret}
                  printf 'User-Name = "USER"\\nUser-Password = "PASS"\\nMessage-Authenticator = 0x00\\n' |
                    radclient -x 127.0.0.1:{radius_port} auth {router_secret}
  RouterOS sim    127.0.0.1:{routeros.port} (demo-router, API user admin, no password): {deployed}
                  (again, step by step: hotspotd --config {path} router deploy demo-router)
  vouchers        hotspotd --config {path} voucher make --package 1 --count 5
  central         {central.url}/   login: admin / {password}  (the site syncs every 10 s;
                  hotspotd --config {path} sync status)
""", flush=True)

        roles = {"central": role_command("central", str(central.config_path))}
        roles.update((role, role_command(role, str(path))) for role in PROCESSES)
        stop = threading.Event()
        show_texts(sms, stop)
        try:
            return supervise(roles, ready=ready)
        finally:
            stop.set()
