"""The box's sync against a real receiver on loopback (SQLite and PostgreSQL): everything
waiting arrives once, the cursor moves only on an acknowledgement, a central that is down,
failing or hanging leaves it where it was."""

from __future__ import annotations

import http.client
import socket
import threading
import urllib.parse
from datetime import timedelta

import pytest

from hotspotd import events, sync
from hotspotd.central.store import Event as CentralEvent
from hotspotd.central.store import Site
from hotspotd.store.db import utcnow, write_transaction
from hotspotd.store.models import Event, SyncState
from hotspotd.sync import outbox
from hotspotd.sync.client import CentralClient
from hotspotd.sync.passes import PassLock, run_pass

from ..clock import FakeClock
from ..loopback import QuietHandler, Served, free_port
from .outbox_fill import busy_days, fill


def central_ids(site_id: str) -> list[int]:
    return [e.event_id for e in CentralEvent.select(CentralEvent.event_id).where(CentralEvent.site == site_id)
            .order_by(CentralEvent.event_id)]


def box_ids() -> list[int]:
    return [e.id for e in Event.select(Event.id).order_by(Event.id)]


def test_a_pass_sends_everything_waiting_once_and_moves_the_cursor(box, config):
    fill(config.app_db_path, busy_days(0.05))  # 2,600 events: three batches
    waiting = outbox.highest()
    result = run_pass(config, box.client)
    assert result.ok, result.error
    assert result.delivered == waiting + 1  # and the sync.completed it wrote
    assert central_ids(box.site_id) == box_ids()
    state = sync.status(config)
    assert (state["waiting"], state["last_error"], state["cursor"]) == (0, None, outbox.highest())
    assert state["last_success"] is not None and state["events_sent"] == waiting + 1
    completed = Event.select().where(Event.type == "sync.completed").get()
    assert completed.data["events"] == waiting
    site = Site.get_by_id(box.site_id)
    assert site.waiting == 0 and site.status["software"] and site.last_event_id == outbox.highest()

    again = run_pass(config, box.client)  # nothing waits: one heartbeat, no new event
    assert again.ok and again.delivered == 0 and again.batches == 1
    assert Event.select().where(Event.type == "sync.completed").count() == 1


def test_the_worker_runs_a_pass_when_one_is_due_an_interval_after_a_success_and_backs_off(box, config):
    """The worker's sync loop, one look at a time on a fake clock (`sync.tick`)."""
    config.central.interval = 300
    clock = FakeClock(wall=utcnow())
    down = CentralClient(f"http://127.0.0.1:{free_port()}", box.site_id, config.central.site_key, timeout=1,
                         allow_insecure=True)

    def look(client=box.client):
        return sync.tick(clock.wall(), lambda: run_pass(config, client, now=clock.wall))

    first = look()
    assert first.ran and first.next_at == clock.wall() + timedelta(seconds=300)
    clock.advance(299)
    assert not look().ran
    clock.advance(1)
    assert look().ran  # 300 s after the last success
    clock.advance(300)
    failed = look(down)
    assert failed.ran and timedelta(seconds=7.5) <= failed.next_at - clock.wall() <= timedelta(seconds=15)
    clock.now += (failed.next_at - clock.wall()).total_seconds() - 1
    assert not look(down).ran  # the backoff holds
    clock.advance(1.001)  # (a millisecond over: the clock's seconds are floats)
    again = look(down)
    assert again.ran and timedelta(seconds=15) <= again.next_at - clock.wall() <= timedelta(seconds=30)  # doubled
    clock.now += (again.next_at - clock.wall()).total_seconds() + 0.001
    back = look()
    assert back.ran and back.next_at == clock.wall() + timedelta(seconds=300)
    assert SyncState.get_by_id(1).failures == 0 and central_ids(box.site_id) == box_ids()
    down.close()


def _emit(count: int) -> None:
    with write_transaction():
        for i in range(count):
            events.emit("system.critical", {"component": "test", "message": f"event {i}"}, utcnow())


class _Failing(QuietHandler):
    def do_POST(self):  # noqa: N802 (http.server's name)
        self.reply(b"boom", 500, "text/plain")

    do_GET = do_POST


@pytest.fixture
def failing_url():
    with Served(_Failing) as served:
        yield served.url


@pytest.fixture
def hanging_url():
    """A server that takes connections (the kernel's backlog) and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


@pytest.mark.parametrize("where", ["down", "failing", "hanging"])
def test_a_central_that_is_down_failing_or_hanging_leaves_the_cursor(box, config, where, request):
    run_pass(config, box.client)  # in step first
    before = outbox.cursor()
    _emit(5)
    url = {"down": lambda: f"http://127.0.0.1:{free_port()}", "failing": lambda: request.getfixturevalue("failing_url"),
           "hanging": lambda: request.getfixturevalue("hanging_url")}[where]()
    client = CentralClient(url, box.site_id, config.central.site_key, timeout=1, allow_insecure=True)
    result = run_pass(config, client)
    client.close()
    assert not result.ok
    assert outbox.cursor() == before and result.waiting == 6  # and the sync.failed it wrote
    state = SyncState.get_by_id(1)
    expected = {"down": "unreachable", "failing": "answered 500", "hanging": "did not answer"}[where]
    assert expected in state.last_error and state.failures == 1
    wait = (state.next_attempt_at - state.last_attempt_at).total_seconds()
    assert 7.5 <= wait <= 15  # the first retry: 15 s with jitter
    assert Event.select().where(Event.type == "sync.failed").count() == 1
    assert len(central_ids(box.site_id)) == before  # central has nothing new

    assert run_pass(config, box.client).ok  # central is back: everything arrives, once
    assert central_ids(box.site_id) == box_ids()


class PushFails(Served):
    """A front for the receiver: configuration pulls go through to it and back untouched
    (its signed answers included); event pushes get `how`: a 500, a 503, or no answer
    until the client gives up."""

    def __init__(self, central_url: str, how: str) -> None:
        self.pulls = self.pushes = 0
        self.let_go = threading.Event()
        target = urllib.parse.urlsplit(central_url)
        owner = self

        class Handler(QuietHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                owner.pulls += 1
                upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
                upstream.request("GET", self.path, headers={k: v for k, v in self.headers.items() if k.lower() != "host"})
                answer = upstream.getresponse()
                body = answer.read()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("connection", "transfer-encoding", "date", "server"):
                        self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)
                upstream.close()

            def do_POST(self):  # noqa: N802
                owner.pushes += 1
                self.body()
                if how == "hanging":
                    owner.let_go.wait(10)  # the client gave up long before
                    return
                self.reply({"error": "try later"}, {"500": 500, "503": 503}[how])

        super().__init__(Handler)

    def close(self) -> None:
        self.let_go.set()
        super().close()


@pytest.mark.parametrize("how", ["500", "503", "hanging"])
def test_a_pull_that_works_and_a_push_that_fails_leave_the_cursor_then_all_arrives_once(box, config, central, how):
    """The cursor moves on the receiver's acknowledgement, never on having sent."""
    run_pass(config, box.client)  # in step first
    before = outbox.cursor()
    _emit(5)
    with PushFails(central.url, how) as front:
        client = CentralClient(front.url, box.site_id, config.central.site_key, timeout=1, allow_insecure=True)
        result = run_pass(config, client)
        client.close()
    assert front.pulls >= 1 and front.pushes == 1  # the pull went through; the push was sent and failed
    expected = {"500": "answered 500", "503": "answered 503", "hanging": "did not answer"}[how]
    assert not result.ok and expected in result.error and result.delivered == 0
    assert outbox.cursor() == before and result.waiting == 6  # the five and the sync.failed
    assert len(central_ids(box.site_id)) == before  # central stored nothing

    again = run_pass(config, box.client)  # central answers again: everything arrives, once
    assert again.ok and again.delivered == 6 + 1  # and the sync.completed
    assert central_ids(box.site_id) == box_ids() and outbox.cursor() == outbox.highest()
    assert SyncState.get_by_id(1).events_sent == before + 6 + 1


def test_failures_back_off_and_only_the_first_one_is_an_event(box, config):
    client = CentralClient(f"http://127.0.0.1:{free_port()}", box.site_id, config.central.site_key, timeout=1, allow_insecure=True)
    waits = []
    for _ in range(4):
        run_pass(config, client)
        state = SyncState.get_by_id(1)
        waits.append((state.next_attempt_at - state.last_attempt_at).total_seconds())
    client.close()
    for n, wait in enumerate(waits):
        assert 15 * 2 ** n / 2 <= wait <= 15 * 2 ** n
    assert SyncState.get_by_id(1).failures == 4
    assert Event.select().where(Event.type == "sync.failed").count() == 1
    assert run_pass(config, box.client).ok
    assert SyncState.get_by_id(1).failures == 0 and SyncState.get_by_id(1).last_error is None


def test_a_refusal_is_kept_as_the_last_error(box, config):
    client = CentralClient(box.client.url, box.site_id, "not-the-key", timeout=5, allow_insecure=True)
    result = run_pass(config, client)
    client.close()
    assert not result.ok and "401" in result.error and "bad signature" in result.error
    assert "bad signature" in sync.status(config)["last_error"]


def test_two_passes_never_run_at_once(box, config):
    lock = PassLock(config.state_dir / "sync.lock")
    assert lock.acquire()
    try:
        result = run_pass(config, box.client)
        assert result.busy and not result.ok
    finally:
        lock.release()
    assert run_pass(config, box.client).ok
