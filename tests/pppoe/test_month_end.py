"""The month's end: suspension after the period (and grace), reminders once each, by day."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hotspotd.pppoe import month_end
from hotspotd.pppoe.month_end import Terms, tick
from hotspotd.sessions import AccountingRecord, apply_accounting
from hotspotd.store.models import Event, Session, Subscriber, SubscriberReminder

NAIROBI = timezone(timedelta(hours=3))
TERMS = Terms(grace_s=0.0, reminder_days=3, timezone="Africa/Nairobi", paybill="600984")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2027, 1, day, hour, minute, tzinfo=NAIROBI).astimezone(timezone.utc)


def kinds(sub):
    return [r.kind for r in SubscriberReminder.select().where(SubscriberReminder.subscriber == sub.id)
            .order_by(SubscriberReminder.id)]


def test_suspension_after_the_period_and_the_grace_once(subscribe, router, now):
    sub = subscribe(days=1)
    apply_accounting([AccountingRecord(router.id, 1, "81C00003", sub.username, "AA:BB:CC:00:00:01", "10.20.0.9",
                                       kind="pppoe")], now)
    grace = Terms(grace_s=2 * 3600)
    assert tick(now + timedelta(days=1, hours=1), grace).suspended == []  # in the grace
    assert tick(now + timedelta(days=1, hours=2), grace).suspended == [sub.id]
    assert tick(now + timedelta(days=1, hours=3), grace).suspended == []  # once
    row = Subscriber.get_by_id(sub.id)
    assert (row.status, row.suspended_at) == ("suspended", now + timedelta(days=1, hours=2))
    assert [e.data["reason"] for e in Event.select().where(Event.type == "subscriber.suspended")] == ["unpaid"]
    assert Session.get().disconnect_reason == "period ended"  # redials into the suspended pool


def test_reminders_three_days_before_and_on_the_last_day_once_each(subscribe, plan, now):
    sub = subscribe(days=None, language="en")
    Subscriber.update(period_end=at(4, 0)).where(Subscriber.id == sub.id).execute()  # paid until 3 January
    assert tick(at(1, 7), TERMS).reminders == []  # not yet three days before
    first = tick(at(1, 9), TERMS).reminders
    assert [r.kind for r in first] == ["before"]
    assert first[0].text == (f"Hi Wanjiku, your home internet (Home 5M, 5M/5M) ends on 3 January. Pay KES 1,500 to "
                             f"Paybill 600984, account {sub.account}, to stay online.")
    assert first[0].phone == "254712345678"
    assert tick(at(2, 12), TERMS).reminders == []  # once per period and kind
    assert tick(at(3, 6), TERMS).reminders == []  # the last day, but at night: it waits for the morning
    [due] = tick(at(3, 8), TERMS).reminders
    assert due.kind == "due" and "ends today, 3 January" in due.text
    assert tick(at(3, 15), TERMS).reminders == []
    assert kinds(sub) == ["before", "due"]


def test_in_swahili_with_the_balance_taken_off(subscribe, now):
    sub = subscribe(days=None, language="sw")
    Subscriber.update(period_end=at(4, 0), balance_cents=50000).where(Subscriber.id == sub.id).execute()
    [reminder] = tick(at(3, 10), TERMS).reminders
    assert reminder.text == (f"Habari Wanjiku, intaneti yako ya nyumbani (Home 5M, 5M/5M) inaisha leo, tarehe 3 "
                             f"Januari. Lipa KES 1,000 kwa Paybill 600984, akaunti {sub.account}, ili uendelee "
                             f"kuwa mtandaoni.")


def test_a_new_period_gets_its_own_reminders_and_held_or_phoneless_ones_none(subscribe, now):
    sub = subscribe(days=None)
    held = subscribe("Held One", days=None, phone="0722000111")
    nophone = subscribe("No Phone", days=None, phone=None)
    Subscriber.update(period_end=at(4, 0)).execute()
    Subscriber.update(held=True).where(Subscriber.id == held.id).execute()
    assert [r.subscriber_id for r in tick(at(3, 9), TERMS).reminders] == [sub.id]
    Subscriber.update(period_end=at(4, 0) + timedelta(days=30)).where(Subscriber.id == sub.id).execute()
    assert [r.kind for r in tick(at(31, 9), TERMS).reminders] == ["before"]
    assert kinds(nophone) == [] and kinds(held) == []


def test_the_hook_gets_what_was_recorded(subscribe, now):
    subscribe(days=None)
    Subscriber.update(period_end=at(4, 0)).execute()
    sent = []
    tick(at(3, 9), TERMS, send=sent.extend)
    assert [r.kind for r in sent] == ["due"]
    tick(at(3, 10), TERMS, send=sent.extend)
    assert len(sent) == 1


def test_last_day_of_a_period_ending_at_midnight_is_the_day_before():
    assert month_end.last_day(at(4, 0), month_end.ZoneInfo("Africa/Nairobi")).day == 3
    assert month_end.last_day(at(4, 14), month_end.ZoneInfo("Africa/Nairobi")).day == 4
