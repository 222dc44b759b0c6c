"""RedisStore durability: it refuses a Redis that may lose writes, survives kill -9, and turns an
outage into Unavailable without leaving half a submission behind."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
import redis

from gateway.errors import ConfigError, Unavailable
from gateway.store.ports import Store, Submission
from gateway.store.redis import RedisStore

if TYPE_CHECKING:
    from tests.store.conftest import ClaimXml, MakeSubmission, RedisServer, StartRedis

CONFIG_DISABLED = ("--rename-command", "CONFIG", "")
HOW_TO = "appendonly yes` and `appendfsync always"


def assert_everything_stored(store: Store, submissions: list[Submission]) -> None:
    for submission in submissions:
        receipt = submission.receipt
        assert store.get_receipt(receipt.id) == receipt
        assert store.find_accepted(receipt.partner_id, receipt.sha256) == receipt
        assert store.get_original(receipt.sha256) == submission.original
        for record in submission.records:
            assert store.get_record(record.id) == record


def test_durable_store_refuses_redis_without_aof(redis_url: str, start_redis: StartRedis) -> None:
    machine = redis.Redis.from_url(redis_url, decode_responses=True)
    appendonly = machine.config_get("appendonly")["appendonly"]
    machine.close()
    if appendonly == "no":
        with pytest.raises(ConfigError, match=HOW_TO):
            RedisStore(redis_url)
    else:  # this machine's Redis happens to run AOF: refuse a private one without it instead
        with pytest.raises(ConfigError, match=HOW_TO):
            RedisStore(start_redis(aof=False).url)


def test_durable_store_refuses_aof_without_fsync_on_every_write(
    running_aof_redis: RedisServer,
) -> None:
    admin = redis.Redis.from_url(running_aof_redis.url)
    admin.config_set("appendfsync", "everysec")
    try:
        with pytest.raises(ConfigError, match=r"appendfsync everysec\).*" + HOW_TO):
            RedisStore(running_aof_redis.url)
    finally:
        admin.config_set("appendfsync", "always")
        admin.close()


def test_durable_store_accepts_redis_with_aof_fsynced_on_every_write(
    running_aof_redis: RedisServer,
) -> None:
    store = RedisStore(running_aof_redis.url)
    store.ping()
    store.close()


def test_without_config_command_aof_is_checked_through_info(
    start_redis: StartRedis, caplog: pytest.LogCaptureFixture
) -> None:
    managed_with_aof = start_redis(*CONFIG_DISABLED, aof=True)
    with caplog.at_level(logging.WARNING, logger="gateway.store.redis"):
        RedisStore(managed_with_aof.url).close()
    assert "`appendfsync always` could not be checked" in caplog.text

    managed_without_aof = start_redis(*CONFIG_DISABLED, aof=False)
    with pytest.raises(ConfigError, match="aof_enabled:0"):
        RedisStore(managed_without_aof.url)


def test_saved_submissions_survive_kill_9(
    running_aof_redis: RedisServer, make_submission: MakeSubmission, claim_xml: ClaimXml
) -> None:
    # kill -9 leaves the OS page cache intact, so this proves the AOF is written and replayed,
    # not that it reached the disk; `appendfsync always` (checked above) covers power loss.
    store = RedisStore(running_aof_redis.url)
    submissions = [make_submission(claim_xml(), records=n) for n in (0, 1, 3)]
    rejection = make_submission(claim_xml(), records=0, accepted=False).receipt
    for submission in submissions:
        store.save_accepted(submission)
    store.save_rejection(rejection)

    running_aof_redis.restart()

    assert_everything_stored(store, submissions)  # the old pool reconnects on its own
    fresh = RedisStore(running_aof_redis.url)
    assert_everything_stored(fresh, submissions)
    assert fresh.get_receipt(rejection.id) == rejection
    fresh.close()
    store.close()


def test_without_aof_kill_9_loses_everything(
    start_redis: StartRedis, make_submission: MakeSubmission, claim_xml: ClaimXml
) -> None:
    """The control: the same crash on a Redis without AOF loses the submission, so the test
    above does detect a lost write."""
    server = start_redis(aof=False)
    store = RedisStore(server.url, require_durable=False)
    submission = make_submission(claim_xml())
    store.save_accepted(submission)

    server.restart()

    assert store.get_receipt(submission.receipt.id) is None
    store.close()


def test_outage_is_unavailable_and_leaves_nothing_half_written(
    running_aof_redis: RedisServer, make_submission: MakeSubmission, claim_xml: ClaimXml
) -> None:
    store = RedisStore(running_aof_redis.url)
    stored = make_submission(claim_xml())
    store.save_accepted(stored)
    failed = make_submission(claim_xml())
    receipt = failed.receipt
    rejection = make_submission(claim_xml(), records=0, accepted=False).receipt
    running_aof_redis.kill()

    calls: list[Callable[[], object]] = [
        lambda: store.save_accepted(failed),
        lambda: store.save_rejection(rejection),
        lambda: store.find_accepted(receipt.partner_id, stored.receipt.sha256),
        lambda: store.get_receipt(stored.receipt.id),
        lambda: store.get_record(stored.records[0].id),
        lambda: store.get_original(stored.receipt.sha256),
        store.ping,
        lambda: RedisStore(running_aof_redis.url),
    ]
    for call in calls:
        with pytest.raises(Unavailable) as info:
            call()
        assert info.value.code == "UNAVAILABLE"
        assert info.value.status == 503
        assert info.value.retry_after is not None
        assert info.value.retry_after > 0
        assert isinstance(info.value.__cause__, redis.exceptions.ConnectionError)

    running_aof_redis.start()

    assert store.find_accepted(receipt.partner_id, receipt.sha256) is None
    assert store.get_receipt(receipt.id) is None
    assert store.get_original(receipt.sha256) is None
    for record in failed.records:
        assert store.get_record(record.id) is None
    assert store.get_receipt(rejection.id) is None
    assert_everything_stored(store, [stored])
    # The partner's retry goes through on the same store once Redis is back.
    assert store.save_accepted(failed) == receipt
    assert_everything_stored(store, [stored, failed])
    store.close()
