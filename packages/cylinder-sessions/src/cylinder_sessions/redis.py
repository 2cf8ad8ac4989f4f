"""The Redis driver: a hash per session read with one ``HGETALL``, changed by atomic Lua
scripts, a TTL on every key.

Needs the ``redis`` extra (``pip install cylinder-sessions[redis]``): redis-py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.commands.core import Script
from redis.retry import Retry

from .driver import Record, StoreRecord, StoreUnavailable, StoreWrite, WriteResult, Written

__all__ = ["RedisDriver"]

# Keys, under the driver's prefix P:
#   P r:<key>     a hash: user (absent when anonymous), created, deadline, expires, and for each
#                 store N the fields d:N (its JSON text), v:N (its version), e:N (its expiry or "")
#   P expires     a sorted set of record keys by their expiry when created, for purge (which
#                 reads each due record's own expiry, so writes and touches need not update it)
#   P u:<user>    a set of that user's record keys, for revoke_user
# Every one has a TTL: a record's follows its expiry (plus GRACE_MS); the index's and a user's
# set are CAP_MS from the last create that added to them, longer than any session with an
# absolute timeout under CAP_MS. Times are passed as Python's repr() and compared with
# tonumber() (exact); the strings are stored as given, so a float comes back bit for bit.

_COMMON = """
local P = ARGV[1]
local GRACE, CAP = tonumber(ARGV[2]), tonumber(ARGV[3])
local INDEX = P .. 'expires'
local function ttl(expires, now)
  local ms = math.ceil((tonumber(expires) - tonumber(now)) * 1000) + GRACE
  if ms > CAP or ms ~= ms then ms = CAP end
  if ms < 1 then ms = 1 end
  return ms
end
local function drop(member, user)
  if user then redis.call('SREM', P .. 'u:' .. user, member) end
  redis.call('ZREM', INDEX, member)
  return redis.call('DEL', P .. 'r:' .. member)
end
-- The record when it is live at `now` (one HGETALL): its flat field list and each field's
-- value position by name. Otherwise nil, an expired record being dropped.
local function live(member, now)
  local flat = redis.call('HGETALL', P .. 'r:' .. member)
  if #flat == 0 then return nil end
  local at = {}
  for i = 1, #flat, 2 do at[flat[i]] = i + 1 end
  if not at['expires'] or tonumber(flat[at['expires']]) <= tonumber(now) then
    drop(member, at['user'] and flat[at['user']])
    return nil
  end
  return flat, at
end
-- Move a live record's expiry forward (never back) to min(deadline, later), and its TTL with
-- it: the key always outlives the record's expiry by GRACE.
local function extend(member, current, deadline, now, later)
  local expires = later
  if tonumber(deadline) < tonumber(later) then expires = deadline end
  if tonumber(expires) <= tonumber(current) then return end
  local rec = P .. 'r:' .. member
  redis.call('HSET', rec, 'expires', expires)
  redis.call('PEXPIRE', rec, ttl(expires, now))
end
-- Index entries due at `now`: re-scored when their record is live (writes and touches extend
-- records without touching the index), dropped when it is gone (its TTL ran out); an expired record
-- that is still there is removed only when `purging`.
local function sweep(now, limit, purging)
  local removed = 0
  local due = redis.call('ZRANGEBYSCORE', INDEX, '-inf', now, 'LIMIT', 0, limit)
  for _, member in ipairs(due) do
    local fields = redis.call('HMGET', P .. 'r:' .. member, 'expires', 'user')
    local expires = fields[1]
    if expires and tonumber(expires) > tonumber(now) then
      redis.call('ZADD', INDEX, expires, member)
    elseif purging or not expires then
      removed = removed + drop(member, fields[2])
    end
  end
  return {removed, #due}
end
"""

# ARGV: P, GRACE, CAP, member, now, later. 1 when the record was live (its expiry moved
# forward if due), 0 when it was missing (an expired one is dropped).
_TOUCH = (
    _COMMON
    + """
local member, now, later = ARGV[4], ARGV[5], ARGV[6]
local fields = redis.call('HMGET', P .. 'r:' .. member, 'expires', 'deadline', 'user')
if not fields[1] then return 0 end
if tonumber(fields[1]) <= tonumber(now) then
  drop(member, fields[3])
  return 0
end
extend(member, fields[1], fields[2], now, later)
return 1
"""
)

# ARGV: P, GRACE, CAP, member, created, expires, user ("" for none), has_user, sweep limit,
# then field, value pairs
_CREATE = (
    _COMMON
    + """
local member, created, expires, user = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
if live(member, created) then return 0 end
local rec = P .. 'r:' .. member
redis.call('HSET', rec, unpack(ARGV, 10))
redis.call('PEXPIRE', rec, ttl(expires, created))
redis.call('ZADD', INDEX, expires, member)
redis.call('PEXPIRE', INDEX, CAP)
if ARGV[8] == '1' then
  redis.call('SADD', P .. 'u:' .. user, member)
  redis.call('PEXPIRE', P .. 'u:' .. user, CAP)
end
sweep(created, tonumber(ARGV[9]), false)
return 1
"""
)

# ARGV: P, GRACE, CAP, member, now, later, then for each store: name, expected, new version,
# data, expiry ("" for none)
_WRITE = (
    _COMMON
    + """
local member, now, later = ARGV[4], ARGV[5], ARGV[6]
local flat, at = live(member, now)
if not flat then return {'missing'} end
for i = 7, #ARGV, 5 do
  local position = at['v:' .. ARGV[i]]
  local version = position and flat[position] or '0'
  if version ~= ARGV[i + 1] then return {'conflict', cjson.encode(flat)} end
end
local rec = P .. 'r:' .. member
for i = 7, #ARGV, 5 do
  local name = ARGV[i]
  redis.call('HSET', rec, 'v:' .. name, ARGV[i + 2], 'd:' .. name, ARGV[i + 3],
    'e:' .. name, ARGV[i + 4])
end
extend(member, flat[at['expires']], flat[at['deadline']], now, later)
return {'ok'}
"""
)

# ARGV: P, GRACE, CAP, member
_DELETE = (
    _COMMON
    + """
local member = ARGV[4]
return drop(member, redis.call('HGET', P .. 'r:' .. member, 'user'))
"""
)

# ARGV: P, GRACE, CAP, user
_REVOKE = (
    _COMMON
    + """
local user = ARGV[4]
local members = redis.call('SMEMBERS', P .. 'u:' .. user)
local removed = 0
for _, member in ipairs(members) do
  if redis.call('HGET', P .. 'r:' .. member, 'user') == user then
    removed = removed + drop(member, user)
  end
end
redis.call('DEL', P .. 'u:' .. user)
return removed
"""
)

# ARGV: P, GRACE, CAP, now, batch
_PURGE = (
    _COMMON
    + """
return sweep(ARGV[4], tonumber(ARGV[5]), true)
"""
)

#: Milliseconds a key outlives its record's expiry: the TTL is a backstop, the ``expires``
#: field decides.
GRACE_MS = 1000
#: The longest TTL set, for a record that never expires (400 days).
CAP_MS = 400 * 86400 * 1000
#: Index entries each create examines, as requests go, dropping those of records whose TTL ran
#: out (so the index cannot grow without a purge).
SWEEP_ON_CREATE = 20
#: Records purge examines per script call (one round trip each).
PURGE_BATCH = 1000


class RedisDriver:
    """Sessions in Redis: one hash per session, read by one ``HGETALL`` (a plain read: loading
    writes nothing), changed only by Lua scripts, so each call is atomic and one round trip.

    Every key the driver writes carries a TTL, so nothing outlives its session even when
    :meth:`purge` is never run; each :meth:`create` also removes a few expired records.
    Liveness is decided by the ``expires`` the manager's clock set, the TTL being a backstop.
    Works with a standalone Redis (or a primary behind Sentinel); not with Redis Cluster, since
    the scripts touch several keys.

    :param url: a Redis URL, e.g. ``"redis://cache.internal:6379/0"`` (``rediss://`` for TLS).
    :param prefix: the start of every key, so several applications can share one database.
    :param client: a ``redis.Redis`` to use instead of one made from ``url``; it must return
        bytes (no ``decode_responses``) and should not retry commands (a retried script could
        apply twice).
    :param timeout: seconds to wait for a connection or an answer before raising
        :class:`~cylinder_sessions.driver.StoreUnavailable`.
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = "cylinder:session:",
        client: redis.Redis | None = None,
        timeout: float = 5.0,
    ) -> None:
        if not prefix:
            raise ValueError("`prefix` must not be empty: the driver's keys need a namespace")
        if timeout <= 0:
            raise ValueError(f"`timeout` must be more than 0 seconds, not {timeout!r}")
        self.prefix = prefix
        self.timeout = timeout
        if client is None:
            client = redis.Redis.from_url(
                url,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
                retry=Retry(NoBackoff(), 0),
                decode_responses=False,
            )
        self.client = client
        self._base = [prefix, str(GRACE_MS), str(CAP_MS)]
        self._touch = client.register_script(_TOUCH)
        self._create = client.register_script(_CREATE)
        self._write = client.register_script(_WRITE)
        self._delete = client.register_script(_DELETE)
        self._revoke = client.register_script(_REVOKE)
        self._purge = client.register_script(_PURGE)

    def __repr__(self) -> str:
        return f"RedisDriver(prefix={self.prefix!r})"

    def _call(self, script: Script, *args: str) -> Any:
        """Run ``script``; any failure of the store becomes :class:`StoreUnavailable`."""
        try:
            return script(keys=[], args=[*self._base, *args])
        except redis.RedisError as exc:
            raise StoreUnavailable(f"the Redis session store `{self.prefix}`: {exc}") from exc

    # the driver interface

    def load(self, key: str, now: float) -> Record | None:
        try:
            fields = self.client.hgetall(f"{self.prefix}r:{key}")
        except redis.RedisError as exc:
            raise StoreUnavailable(f"the Redis session store `{self.prefix}`: {exc}") from exc
        record = _record_of_hash(fields)
        return record if record is not None and now < record.expires else None

    def create(self, key: str, record: Record) -> bool:
        fields = [
            "created",
            repr(record.created),
            "deadline",
            repr(record.deadline),
            "expires",
            repr(record.expires),
        ]
        if record.user is not None:
            fields += ["user", record.user]
        for name, store in record.stores.items():
            fields += [f"d:{name}", store.data, f"v:{name}", str(store.version)]
            fields += [f"e:{name}", _when(store.expires)]
        inserted = self._call(
            self._create,
            key,
            repr(record.created),
            repr(record.expires),
            record.user or "",
            "0" if record.user is None else "1",
            str(SWEEP_ON_CREATE),
            *fields,
        )
        return bool(inserted)

    def write(
        self, key: str, writes: Mapping[str, StoreWrite], now: float, idle: float
    ) -> WriteResult:
        args = [key, repr(now), repr(now + idle)]
        for name, change in writes.items():
            args += [name, str(change.expected), str(change.expected + 1)]
            args += [change.data, _when(change.expires)]
        reply = self._call(self._write, *args)
        outcome = reply[0]
        if outcome == b"ok":
            return WriteResult(Written.OK)
        if outcome == b"conflict":
            current = _record(reply[1])
            if current is not None:
                return WriteResult(Written.CONFLICT, current)
        return WriteResult(Written.MISSING)

    def touch(self, key: str, now: float, idle: float) -> bool:
        return bool(self._call(self._touch, key, repr(now), repr(now + idle)))

    def delete(self, key: str) -> None:
        self._call(self._delete, key)

    def revoke_user(self, user: str) -> int:
        return int(self._call(self._revoke, user))

    def purge(self, now: float) -> int:
        removed = 0
        while True:
            batch_removed, examined = self._call(self._purge, repr(now), str(PURGE_BATCH))
            removed += int(batch_removed)
            if int(examined) < PURGE_BATCH:
                return removed

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()


def _when(expires: float | None) -> str:
    return "" if expires is None else repr(expires)


def _record(reply: bytes) -> Record | None:
    """The record a script's reply holds (its fields as a JSON array of names and values);
    None (missing) for one not in this driver's format."""
    try:
        flat = json.loads(reply)
        fields = {str(flat[i]): str(flat[i + 1]) for i in range(0, len(flat) - 1, 2)}
    except (UnicodeDecodeError, ValueError, IndexError, TypeError):
        return None
    return _record_of_fields(fields)


def _record_of_hash(reply: Mapping[bytes | str, bytes | str]) -> Record | None:
    """The record an ``HGETALL`` reply holds; None (missing) for an empty reply or one not in
    this driver's format (text that is not UTF-8 included)."""
    if not reply:
        return None
    try:
        fields = {
            name.decode() if isinstance(name, bytes) else name: value.decode()
            if isinstance(value, bytes)
            else value
            for name, value in reply.items()
        }
    except UnicodeDecodeError:
        return None
    return _record_of_fields(fields)


def _record_of_fields(fields: Mapping[str, str]) -> Record | None:
    """The record a hash's fields describe, by name; None when they do not describe one."""
    try:
        stores: dict[str, StoreRecord] = {}
        for field, value in fields.items():
            if field[:2] == "d:":
                name = field[2:]
                lapse = fields["e:" + name]
                stores[name] = StoreRecord(
                    value, int(fields["v:" + name]), float(lapse) if lapse else None
                )
        return Record(
            fields.get("user"),
            float(fields["created"]),
            float(fields["deadline"]),
            float(fields["expires"]),
            stores,
        )
    except (UnicodeDecodeError, KeyError, ValueError, IndexError, AttributeError, TypeError):
        return None
