"""The CardCheckLog contract: checks kept by card key, read newest first, purged by age; run on
the SQLite and the PostgreSQL log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.sirecords.checks import CardCheckEntry, CardCheckLog

MORNING = datetime(2025, 6, 2, 8, 30, 0, 123456, tzinfo=UTC)


def check(at: datetime, *, code: str = "000") -> CardCheckEntry:
    return CardCheckEntry(
        at=at,
        partner="hospital-79001",
        facility="79001",
        account="79001_tiepdon",
        card="************789",
        staff_name="Trần Văn Bình",
        staff_id="079085000321",
        code=code,
    )


def test_a_cards_checks_read_back_newest_first_and_only_its_own(
    card_check_log: CardCheckLog,
) -> None:
    checks = [check(MORNING + timedelta(minutes=m), code=f"00{m}") for m in (2, 0, 1)]
    for entry in checks:
        card_check_log.record("card-a", entry)
    card_check_log.record("card-b", check(MORNING))

    history = card_check_log.history("card-a", limit=2)

    assert history == [checks[0], checks[2]]
    assert all(entry.at.utcoffset() == timedelta(0) for entry in history)
    assert card_check_log.history("card-c", limit=10) == []


def test_checks_made_before_a_time_are_purged(card_check_log: CardCheckLog) -> None:
    old, recent = check(MORNING - timedelta(days=400)), check(MORNING)
    for entry in (old, recent):
        card_check_log.record("card-a", entry)

    purged = card_check_log.purge(before=MORNING - timedelta(days=365))

    assert purged == 1
    assert card_check_log.history("card-a", limit=10) == [recent]
