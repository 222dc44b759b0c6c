"""The Redis store: receipts, records and originals in a Redis that fsyncs every write (AOF).

Key layout (every key under the ``gw:`` prefix; values are raw bytes, never re-encoded):

    gw:receipt:{receipt_id}              hash  partner_id, sha256, accepted ("1"/"0"), codec,
                                         json_size, json, xml_size, xml: the receipt packed by
                                         gateway.store.receipt_rows; no codec nor sizes if
                                         written before (its JSON and XML themselves)
    gw:record:{record_id}                hash  receipt_id, partner_id, codec, size, json: the
                                         record's JSON packed by gateway.store.record_json; no
                                         codec nor size if written before (its JSON itself)
    gw:original:{sha256}                 hash  codec, size, body: the submitted bytes packed by
                                         gateway.store.originals (written once, never replaced);
                                         a string of the bytes themselves if written before
    gw:accepted:{partner_id}:{sha256}    string  id of the receipt that accepted these bytes
    gw:index:{name}                      list  append-only index entries (visits, signals),
                                         packed by gateway.store.index_values

The dedup key is the uniqueness constraint that ``SqliteStore`` gets from its partial unique index;
``sha256`` is 64 hex digits at the end of the key, so a ``:`` inside a partner id stays
unambiguous. Receipts and records are never overwritten or deleted.
"""

from __future__ import annotations

import logging
from typing import cast

import redis
import redis.exceptions
from redis.backoff import NoBackoff
from redis.retry import Retry

from gateway.errors import ConfigError, translate
from gateway.store.index_values import pack_entry, unpack_entry
from gateway.store.originals import IDENTITY, Packed, pack, unpack
from gateway.store.ports import IndexChanged, StoredReceipt, StoredRecord, Submission
from gateway.store.receipt_rows import receipt_of, receipt_values
from gateway.store.record_json import pack_record, unpack_record

log = logging.getLogger(__name__)

_PREFIX = "gw:"

# All of an accepted submission, or nothing. Redis runs a script alone and, since 7.0, writes its
# effects to the AOF as one MULTI/EXEC, so a crash cannot leave half of it. A script error does
# not roll back earlier writes, hence every check comes before the first write.
#   KEYS: dedup, receipt, original, record... (ARGV[8] of them), list read... (ARGV[9] of them),
#         index list...
#   ARGV: receipt id, partner id, sha256, accepted, codec, json's size, json, xml's size, xml
#         (``receipt_values``), original's blob, record count, read count, original's codec,
#         original's size, then (receipt id, partner id, codec,
#         size, packed json) per record, then the length each list read had, then one value per
#         index list key, in KEYS order.
# Returns the id of the receipt that already accepted these bytes, {name} of a list read that has
# grown since (nothing is written), or nil when this one won.
_SAVE_ACCEPTED = """
local winner = redis.call('GET', KEYS[1])
if winner then
  return winner
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  return redis.error_reply('ERR gw: receipt ' .. ARGV[1] .. ' is already stored')
end
local records = tonumber(ARGV[11])
local last_record = 3 + records
local last_read = last_record + tonumber(ARGV[12])
-- after the records, ARGV[tail + i] goes with KEYS[i]: a length read, then a value to append
local tail = 15 + records * 5 - last_record - 1
local seen = {}
for i = 4, last_record do
  if seen[KEYS[i]] or redis.call('EXISTS', KEYS[i]) == 1 then
    return redis.error_reply('ERR gw: ' .. KEYS[i] .. ' is already stored')
  end
  seen[KEYS[i]] = true
end
for i = last_record + 1, last_read do
  if redis.call('LLEN', KEYS[i]) > tonumber(ARGV[tail + i]) then
    return {KEYS[i]}
  end
end
redis.call('HSET', KEYS[2], 'partner_id', ARGV[2], 'sha256', ARGV[3], 'accepted', ARGV[4],
           'codec', ARGV[5], 'json_size', ARGV[6], 'json', ARGV[7], 'xml_size', ARGV[8],
           'xml', ARGV[9])
for i = 4, last_record do
  local a = 15 + (i - 4) * 5
  redis.call('HSET', KEYS[i], 'receipt_id', ARGV[a], 'partner_id', ARGV[a + 1],
             'codec', ARGV[a + 2], 'size', ARGV[a + 3], 'json', ARGV[a + 4])
end
for i = last_read + 1, #KEYS do
  redis.call('RPUSH', KEYS[i], ARGV[tail + i])
end
if redis.call('EXISTS', KEYS[3]) == 0 then
  redis.call('HSET', KEYS[3], 'codec', ARGV[13], 'size', ARGV[14], 'body', ARGV[10])
end
redis.call('SET', KEYS[1], ARGV[1])
return false
"""

# A rejection receipt, never overwriting one already stored under the same id.
_SAVE_REJECTION = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.error_reply('ERR gw: receipt ' .. ARGV[1] .. ' is already stored')
end
redis.call('HSET', KEYS[1], 'partner_id', ARGV[2], 'sha256', ARGV[3], 'accepted', ARGV[4],
           'codec', ARGV[5], 'json_size', ARGV[6], 'json', ARGV[7], 'xml_size', ARGV[8],
           'xml', ARGV[9])
return false
"""

_HOW_TO = (
    "configure Redis to persist every write before it replies: `appendonly yes` and "
    "`appendfsync always` in redis.conf (or CONFIG SET appendonly yes; CONFIG SET appendfsync "
    "always; CONFIG REWRITE), or use the SQLite store"
)


def _receipt_key(receipt_id: str) -> str:
    return f"{_PREFIX}receipt:{receipt_id}"


def _record_key(record_id: str) -> str:
    return f"{_PREFIX}record:{record_id}"


def _original_key(sha256: str) -> str:
    return f"{_PREFIX}original:{sha256}"


def _accepted_key(partner_id: str, sha256: str) -> str:
    return f"{_PREFIX}accepted:{partner_id}:{sha256}"


def _index_key(name: str) -> str:
    return f"{_PREFIX}index:{name}"


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _receipt_args(receipt: StoredReceipt) -> list[str | bytes]:
    """The receipt's fields in ``RECEIPT_COLUMNS``' order, packed, as script arguments."""
    return [
        v if isinstance(v, bytes) else str(int(v) if isinstance(v, bool) else v)
        for v in receipt_values(receipt)
    ]


def connect(url: str, *, timeout: float = 5) -> redis.Redis:
    """A client that fails fast, without retries: a Redis outage is a 503 the partner retries,
    not a stalled request; ``timeout`` seconds for an answer (at most 2 to connect). Options in
    the URL's query string override these defaults."""
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=min(2, timeout),
        socket_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )


class RedisStore:
    """A ``Store`` on a Redis server; refuses, unless told otherwise, one that may lose writes."""

    def __init__(self, url: str, *, require_durable: bool = True) -> None:
        self._redis = connect(url)
        self._save_accepted = self._redis.register_script(_SAVE_ACCEPTED)
        self._save_rejection = self._redis.register_script(_SAVE_REJECTION)
        if require_durable:
            with translate("the store"):
                self._check_durable()

    def _where(self) -> str:
        kw = self._redis.connection_pool.connection_kwargs
        if "path" in kw:
            return f"Redis at {kw['path']} (db {kw.get('db', 0)})"
        return f"Redis at {kw.get('host')}:{kw.get('port')} (db {kw.get('db', 0)})"

    def _check_durable(self) -> None:
        """Refuse a server that may reply before a write is on disk (Redis 7.0 has no WAITAOF,
        so ``appendfsync always`` is the only way a reply implies an fsynced write)."""
        try:
            config = self._redis.config_get("appendonly", "appendfsync")
        except redis.exceptions.ResponseError:
            # Managed Redis often disables CONFIG; INFO still says whether AOF is on.
            self._check_aof_from_info()
            return
        appendonly = _text(config.get("appendonly"))
        appendfsync = _text(config.get("appendfsync"))
        if appendonly != "yes" or appendfsync != "always":
            raise ConfigError(
                f"{self._where()} may lose acknowledged writes (appendonly {appendonly}, "
                f"appendfsync {appendfsync}); " + _HOW_TO
            )

    def _check_aof_from_info(self) -> None:
        try:
            info = self._redis.info("persistence")
        except redis.exceptions.ResponseError as exc:
            raise ConfigError(
                f"{self._where()}: cannot check persistence (CONFIG and INFO refused); " + _HOW_TO
            ) from exc
        if _text(info.get("aof_enabled")) != "1":
            raise ConfigError(f"{self._where()} runs without AOF (aof_enabled:0); " + _HOW_TO)
        log.warning(
            "%s has AOF enabled but CONFIG is disabled, so `appendfsync always` could not "
            "be checked; make sure the provider fsyncs every write",
            self._where(),
        )

    # decode_responses is off, so replies are bytes; redis-py types them as bytes | str.
    def _get(self, key: str) -> bytes | None:
        return cast("bytes | None", self._redis.get(key))

    def _hash(self, key: str) -> dict[bytes, bytes]:
        return cast("dict[bytes, bytes]", self._redis.hgetall(key))

    def find_accepted(self, partner_id: str, sha256: str) -> StoredReceipt | None:
        with translate("the store"):
            receipt_id = self._get(_accepted_key(partner_id, sha256))
            if receipt_id is None:
                return None
            return self._load_receipt(receipt_id.decode())

    def save_accepted(self, submission: Submission) -> StoredReceipt:
        receipt = submission.receipt
        original = pack(submission.original)
        keys = [
            _accepted_key(receipt.partner_id, receipt.sha256),
            _receipt_key(receipt.id),
            _original_key(receipt.sha256),
            *(_record_key(r.id) for r in submission.records),
            *(_index_key(r.name) for r in submission.read),
            *(_index_key(e.name) for e in submission.index),
        ]
        args: list[str | bytes] = [
            *_receipt_args(receipt),
            original.blob,
            str(len(submission.records)),
            str(len(submission.read)),
            original.codec,
            str(original.size),
        ]
        for record in submission.records:
            packed = pack_record(record.json)
            args += [record.receipt_id, record.partner_id, packed.codec, str(packed.size)]
            args.append(packed.blob)
        args += [str(read.length) for read in submission.read]
        args += [pack_entry(entry.value) for entry in submission.index]
        with translate("the store"):
            result: bytes | list[bytes] | None = self._save_accepted(keys=keys, args=args)
            if result is None:
                return receipt
            if isinstance(result, list):
                raise IndexChanged(result[0].decode().removeprefix(_index_key("")))
            stored = self._load_receipt(result.decode())
        # Receipts are never deleted, so the winner's receipt is there.
        assert stored is not None
        return stored

    def save_rejection(self, receipt: StoredReceipt) -> None:
        with translate("the store"):
            self._save_rejection(keys=[_receipt_key(receipt.id)], args=_receipt_args(receipt))

    def _load_receipt(self, receipt_id: str) -> StoredReceipt | None:
        fields = self._hash(_receipt_key(receipt_id))
        if not fields:
            return None
        codec, json_size, xml_size = (
            fields.get(name, b"").decode() or None for name in (b"codec", b"json_size", b"xml_size")
        )
        return receipt_of(
            (
                receipt_id,
                fields[b"partner_id"].decode(),
                fields[b"sha256"].decode(),
                fields[b"accepted"] == b"1",
                codec,
                None if json_size is None else int(json_size),
                fields[b"json"],
                None if xml_size is None else int(xml_size),
                fields[b"xml"],
            )
        )

    def get_receipt(self, receipt_id: str) -> StoredReceipt | None:
        with translate("the store"):
            return self._load_receipt(receipt_id)

    def get_record(self, record_id: str) -> StoredRecord | None:
        with translate("the store"):
            fields = self._hash(_record_key(record_id))
        if not fields:
            return None
        blob = fields[b"json"]
        codec = fields.get(b"codec", IDENTITY.encode()).decode()
        packed = Packed(codec, int(fields.get(b"size", len(blob))), blob)
        return StoredRecord(
            id=record_id,
            receipt_id=fields[b"receipt_id"].decode(),
            partner_id=fields[b"partner_id"].decode(),
            json=unpack_record(packed, record_id=record_id),
        )

    def get_original(self, sha256: str) -> bytes | None:
        key = _original_key(sha256)
        with translate("the store"):
            try:
                fields = self._hash(key)
            except redis.exceptions.ResponseError:  # WRONGTYPE: a string, stored unpacked
                body = self._get(key)
                return (
                    None
                    if body is None
                    else unpack(Packed(IDENTITY, len(body), body), sha256=sha256)
                )
        if not fields:
            return None
        packed = Packed(fields[b"codec"].decode(), int(fields[b"size"]), fields[b"body"])
        return unpack(packed, sha256=sha256)

    def entries(self, name: str, *, start: int = 0, limit: int | None = None) -> list[bytes]:
        stop = -1 if limit is None else start + limit - 1
        if limit == 0:
            return []
        with translate("the store"):
            values = cast("list[bytes]", self._redis.lrange(_index_key(name), start, stop))
        return [unpack_entry(value, name=name) for value in values]

    def ping(self) -> None:
        with translate("the store"):
            self._redis.ping()

    def close(self) -> None:
        # from_url gives the client its own pool, which close() disconnects.
        self._redis.close()
