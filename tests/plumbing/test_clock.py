"""The believable clock with a fake wall clock and boot clock over a real store: a boot at a
stale time, NTP's step forward, an operator's step back, Daraja's word, and what each does
to the records, the reconciler, alerts and `doctor`."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from hotspotd.alerts import conditions
from hotspotd.billing import subscriptions
from hotspotd.billing.packages import add_package
from hotspotd.errors import ClockNotBelievable
from hotspotd.operations import health
from hotspotd.plumbing import clock, reconcile
from hotspotd.plumbing.clock import SiteClock, State, advance, judge
from hotspotd.store.db import write_transaction
from hotspotd.store.models import Event, Payment, Session, Subscription

T = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc).timestamp()  # the true time when the test starts
HOUR = 3600.0


class FakeTime:
    """A wall clock that an operator or NTP can step, and a boot clock that only runs."""

    def __init__(self, wall: float, mono: float = 100.0) -> None:
        self.wall, self.mono = wall, mono
        self.synchronized: bool | None = None

    def run(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds

    def step(self, seconds: float) -> None:
        self.wall += seconds

    def clock(self, *, boot: str = "boot-1", require_ntp: bool = False) -> SiteClock:
        """The site clock of one process on this box."""
        return SiteClock(require_ntp=require_ntp, wall=lambda: self.wall, mono=lambda: self.mono,
                         synchronized=lambda: self.synchronized, boot=lambda: boot)


def at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, timezone.utc)


@pytest.fixture
def hour(store):
    return add_package(name="Hour", price=10, duration="1h", now=at(T))


def bought(hour, now: float, minutes_ago: float = 0) -> int:
    """A customer who bought an hour `minutes_ago` (on the clock as it read then)."""
    with write_transaction():
        customer = subscriptions.new_customer(None, at(now))
        return subscriptions.grant(customer, hour, at(now - minutes_ago * 60)).subscription_id


def period(sub_id: int) -> tuple[datetime, datetime]:
    sub = Subscription.get_by_id(sub_id)
    return sub.starts_at, sub.ends_at


def steps() -> list[dict]:
    return [e.data for e in Event.select().where(Event.type == "system.clock_stepped").order_by(Event.id)]


def stale_boot(hour, *, off: float = -5 * HOUR) -> tuple[FakeTime, int]:
    """A box that ran until T (a customer bought an hour 10 minutes before), was switched
    off, and booted with its clock `off` from the true time."""
    before = FakeTime(T - 600, mono=5000.0)
    first = before.clock(boot="boot-0")
    assert first.believable()  # known-good: nothing to be behind yet
    sub = bought(hour, before.wall)
    before.run(600)
    first.tick()  # the mark follows the clock while it is believable
    return FakeTime(T + 2 * HOUR + off, mono=30.0), sub  # off for two hours; boots with a clock `off`


# -- judging


def test_judge_takes_ntp_daraja_held_and_the_last_known_good_time_in_that_order():
    fresh = State(wall_offset=0.0)
    assert judge(fresh, wall=T, synchronized=True, require_ntp=True) == (True, "ntp", "")
    assert judge(fresh, wall=T, synchronized=False, require_ntp=True)[:2] == (False, "")
    assert judge(State(wall_offset=0.0, held=True), wall=T, synchronized=False, require_ntp=True)[:2] == (True, "held")
    behind = State(wall_offset=0.0, daraja_base=5 * HOUR)
    believable, _, reason = judge(behind, wall=T, synchronized=None, require_ntp=False)
    assert not believable and reason == "Daraja's clock puts this clock 5 h 0 min behind"
    assert judge(State(wall_offset=0.0, daraja_base=20.0), wall=T, synchronized=None, require_ntp=False)[1] == "daraja"
    assert judge(State(wall_offset=0.0, mark=T + 60), wall=T, synchronized=None, require_ntp=False)[0] is False
    assert judge(State(wall_offset=0.0, mark=T - 60), wall=T, synchronized=None, require_ntp=False)[1] == "known-good"
    assert judge(fresh, wall=0.0, synchronized=None, require_ntp=False)[0] is False  # 1970


def test_a_new_boot_forgets_the_frame_and_the_boot_clock_readings():
    ran = State(boot_id="a", wall_offset=T, frame_known=True, held=True, believable=True, mark=T,
                daraja_base=T, daraja_seen=5.0)
    after, step = advance(ran, wall=T - HOUR, mono=10.0, boot="b", synchronized=None, require_ntp=False)
    assert step is None and not after.frame_known and not after.held and after.daraja_base is None
    assert not after.believable and "behind the last known-good time" in after.reason


def test_slewing_is_not_a_step_and_a_jump_is():
    s, _ = advance(State(), wall=T, mono=10.0, boot="b", synchronized=None, require_ntp=False)
    slewed, step = advance(s, wall=T + 100.5, mono=110.0, boot="b", synchronized=None, require_ntp=False)
    assert step is None and slewed.wall_offset == pytest.approx(T - 9.5)
    jumped, step = advance(slewed, wall=T + 110 + 3 * HOUR, mono=120.0, boot="b", synchronized=None,
                           require_ntp=False)
    assert step == pytest.approx(3 * HOUR, abs=1)


# -- the scenarios


def test_a_boot_at_a_stale_time_waits_and_ntps_step_forward_moves_nothing(hour):
    box, sub = stale_boot(hour)
    bought_period = period(sub)
    site = box.clock()
    reading = site.reading()
    assert not reading.believable and not reading.frame_known
    assert "behind the last known-good time" in reading.reason
    with pytest.raises(ClockNotBelievable, match="setting its clock"):
        site.require_believable()
    # RADIUS judges from the last known-good time, not from the stale clock: the customer
    # who had 50 minutes left at shutdown has at most 50, and it runs down while we wait.
    assert site.decision_now() == at(T)
    box.run(120)
    assert site.decision_now() == at(T + 120)
    assert site.now() == at(box.wall)
    # the reconciler judges nothing by a stale clock
    plan = reconcile.run_once(site.now(), site_config(), frame_known=site.frame_known())
    assert plan.expired == [] and plan.apply == []
    box.step(5 * HOUR)  # NTP
    assert site.believable() and site.frame_known()
    [step] = steps()
    assert step["step_s"] == pytest.approx(5 * HOUR, abs=1) and step["frame"] == "unknown"
    assert step["subscriptions"] == 0 and step["believable"] is True
    assert period(sub) == bought_period  # bought on a believed clock: nothing to repair
    assert site.decision_now() == at(box.wall)


def site_config():
    from hotspotd import config as config_mod

    return config_mod.load(None, overrides={"site": {"require_ntp": "no"}})


def test_a_step_back_carries_every_running_period_so_nobody_loses_or_gains(hour, now):
    box = FakeTime(T)
    site = box.clock()
    assert site.believable()
    running = bought(hour, box.wall, minutes_ago=20)  # 40 minutes left
    ended = bought(hour, box.wall, minutes_ago=90)
    with write_transaction():
        Session.create(router=make_router(), acct_session_id="s1", username="u", status="open",
                       started_at=at(box.wall - 600), updated_at=at(box.wall - 60))
        pending = Payment.create(ref="p1", package=hour, phone="254712345678", amount=10, status="pending",
                                 created_at=at(box.wall - 30), updated_at=at(box.wall - 30))
    left_before = period(running)[1] - at(box.wall)
    ended_before = period(ended)
    box.step(-3 * HOUR)  # an operator, by mistake
    now = site.now()
    [step] = steps()
    assert step["frame"] == "carried" and step["step_s"] == pytest.approx(-3 * HOUR, abs=1)
    assert (step["subscriptions"], step["sessions"], step["payments"]) == (1, 1, 1)
    assert period(running)[1] - now == left_before  # to the second
    assert period(ended) == ended_before  # history stays as written
    assert Session.get(Session.acct_session_id == "s1").started_at == at(box.wall - 600)
    assert Payment.get_by_id(pending.id).created_at == at(box.wall - 30)
    # no outside witness: the mark moved with the clock, so it is still "known good"
    assert site.reading().source == "known-good"
    box.run(60)
    box.step(3 * HOUR)  # put right
    site.now()
    assert [s["frame"] for s in steps()] == ["carried", "carried"]
    assert period(running)[1] - at(box.wall) == left_before - timedelta(seconds=60)


def make_router():
    from hotspotd.store.models import Router

    return Router.create(name="gate", host="10.5.50.1", secret="s", nas_ip="10.5.50.1", created_at=at(T),
                         updated_at=at(T))


def test_two_processes_that_see_one_step_repair_it_once(hour):
    box = FakeTime(T)
    portal, radius = box.clock(), box.clock()
    portal.now(), radius.now()
    sub = bought(hour, box.wall)
    ends = period(sub)[1]
    box.step(2 * HOUR)
    portal.now()
    radius.now()
    assert len(steps()) == 1
    assert period(sub)[1] == ends + timedelta(hours=2)


def test_daraja_says_the_clock_is_wrong_and_a_step_puts_it_right(hour):
    box = FakeTime(T - 5 * HOUR)  # a first boot: no mark, so "known good" would believe it
    site = box.clock()
    site.witness(format_datetime(at(T), usegmt=True))
    reading = site.reading()
    assert not reading.believable and reading.reason == "Daraja's clock puts this clock 5 h 0 min behind"
    box.step(5 * HOUR)
    assert site.reading().source == "daraja"  # the old word, carried through the step: no new call needed
    site.witness("not a date")  # ignored
    assert site.believable()


def test_with_ntp_required_selling_waits_for_the_kernel_then_survives_a_lost_uplink(hour):
    box = FakeTime(T)
    site = box.clock(require_ntp=True)
    box.synchronized = False
    assert not site.believable() and "NTP has not synchronised" in site.reading().reason
    box.run(10)
    box.synchronized = True
    assert site.reading().source == "ntp"
    box.run(10)
    box.synchronized = False  # hours without servers: the kernel gives up on the clock, which still runs true
    assert site.reading().source == "held"
    box.run(10)
    box.step(-HOUR)  # set by hand: settimeofday also tells the kernel it is not synchronised
    assert not site.believable()
    assert steps()[-1]["believable"] is False


def test_the_step_and_the_wait_raise_alerts_and_doctor_says_by_what(hour):
    box, _ = stale_boot(hour)
    site = box.clock()
    reading = site.reading()
    check = health.check_clock(reading, site.now())
    assert check.status == health.FAIL and "behind the last known-good time" in check.message
    assert conditions.clock_unbelievable(reading) == []  # a box that just booted waits a minute or two
    box.run(conditions.CLOCK_WAIT + 1)
    [waiting] = conditions.clock_unbelievable(site.reading())
    assert waiting.key == "clock" and "selling has waited 5 min" in waiting.message
    box.step(5 * HOUR)
    [stepped] = conditions.clock_stepped(site.now())
    assert stepped.key == "clock.stepped" and stepped.message.startswith("the clock stepped +5 h 0 min")
    assert "nothing had been sold on the old time" in stepped.message
    assert conditions.clock_unbelievable(site.reading()) == []
    check = health.check_clock(site.reading(), site.now())
    assert check.status == health.WARN and "not behind the last known-good time" in check.message
    assert "last step +5 h 0 min" in check.message
    assert conditions.clock_stepped(site.now() + timedelta(minutes=61)) == []


def test_the_event_is_a_known_type_and_carries_plain_numbers(hour):
    box = FakeTime(T)
    site = box.clock()
    site.now()
    box.step(HOUR)
    site.now()
    event = Event.select().where(Event.type == "system.clock_stepped").get()
    json.dumps(event.data)  # what the websocket and central sync send
    assert set(event.data) >= {"step_s", "from", "to", "frame", "subscriptions", "sessions", "payments"}


def test_a_clock_that_cannot_record_still_judges_and_forgets_the_frame_on_a_step(hour, monkeypatch):
    box = FakeTime(T)
    site = box.clock()
    assert site.believable()
    monkeypatch.setattr(clock, "save", lambda state: (_ for _ in ()).throw(OSError("disk full")))
    box.step(HOUR)
    assert not site.frame_known()


def test_after_a_stale_boot_payments_wait_to_be_applied_and_retention_deletes_nothing(hour, config):
    from hotspotd.plumbing import tasks
    from hotspotd.plumbing.runtime import Runtime
    from hotspotd.store.models import HealthLog

    box, _ = stale_boot(hour)
    rt = Runtime(config, site_clock=box.clock())
    with write_transaction():  # a Paybill confirmation recorded on the stale clock
        payment = Payment.create(ref="p1", package=hour, phone="254712345678", amount=10, amount_paid=10,
                                 status="received", receipt="TJK3ABC12X", created_at=at(box.wall),
                                 updated_at=at(box.wall))
        HealthLog.create(at=at(T - 30 * 86400), component="test", level="info", message="a month old")
    rt.queue.run(tasks.apply_payments, [payment.id])
    rt.queue.run(tasks.apply_retention)
    assert Payment.get_by_id(payment.id).status == "received"
    assert HealthLog.select().where(HealthLog.message == "a month old").count() == 1
    box.step(5 * HOUR)  # NTP
    rt.queue.run(tasks.apply_payments, [payment.id])
    paid = Payment.get_by_id(payment.id)
    assert paid.status == "paid" and paid.subscription.starts_at == at(box.wall)  # the whole hour, from now
    rt.queue.run(tasks.apply_retention)
    assert HealthLog.select().where(HealthLog.message == "a month old").count() == 0
    rt.close()
