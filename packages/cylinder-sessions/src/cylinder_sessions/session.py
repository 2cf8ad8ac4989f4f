"""One request's session: its named stores, loaded on first use, saved once at the end.

Nothing here touches the store until a handler uses the session. Loading is a pure read. Saving
writes only the stores whose keys changed, each as a compare-and-swap on the version that was
read; when another request wrote the same store meanwhile, only the keys this request set or
deleted are applied again on top of what is there now. The idle expiry moves with that write,
or, for a request that only read, with one small ``touch`` at the end, and only when it is due
(see :meth:`SessionManager.touch_due <cylinder_sessions.manager.SessionManager.touch_due>`).
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import math
import secrets
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, TypeVar

from werkzeug.exceptions import Forbidden
from werkzeug.sansio.http import parse_cookie
from werkzeug.wrappers import Request, Response

from .driver import Record, StoreRecord, StoreUnavailable, StoreWrite, Written
from .errors import SessionError, SessionTooLarge, SessionUnavailable
from .ids import is_well_formed, key_of, new_id

if TYPE_CHECKING:
    from .manager import SessionManager

__all__ = ["Session", "Store"]

T = TypeVar("T")

#: Attempts at a compare-and-swap before giving up (each one follows a write that succeeded).
MAX_ATTEMPTS = 1000

_FLASH = "_flash"
_CSRF = "_csrf"
_UNSET: Any = object()


_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
#: The types of values that cannot change once made: the very object that was read or set still
#: has the same JSON at the end of the request. Any other value (a list, a dict, a subclass) is
#: compared by its JSON then.
_IMMUTABLE = frozenset({str, int, float, bool, type(None)})


def _dump(value: object) -> str:
    return _ENCODER.encode(value)


def _constant(name: str) -> Any:
    raise ValueError(f"`{name}` is not JSON")


#: Reads stored JSON strictly: ``NaN`` and ``Infinity`` are not JSON, and could not be saved back.
_DECODER = json.JSONDecoder(parse_constant=_constant)


def _load_json(text: str) -> Any:
    return _DECODER.decode(text)


class Session:
    """The session of one request: ``session["shop"]`` is the store named ``shop``.

    Made by :meth:`SessionManager.begin`; handlers get it as their ``session`` parameter.
    """

    def __init__(self, manager: SessionManager, request: Request) -> None:
        self._manager = manager
        self._request: Request | None = request  # its cookie is read on first use only
        self._id: str | None = None  # the id of `_record`
        self._key = ""  # the store's key for `_id`
        self._record: Record | None = None
        self._loaded = False
        self._read_only = False
        self._extended = False  # this request moved the record's expiry (write, create)
        self._stores: dict[str, Store] = {}
        # each store of `_record` as `_load` decoded it, for the Store opened on it
        self._decoded: dict[str, tuple[StoreRecord, dict[str, Any]]] = {}
        self._cookie: tuple[str, float] | None = None  # (id, max-age) to send
        self._forget_cookie = False

    def __repr__(self) -> str:
        state = "new" if self._record is None else "stored"
        return f"<Session {state}, stores opened: {sorted(self._stores)}>"

    # reading

    def __contains__(self, name: object) -> bool:
        """Whether the store ``name`` holds anything."""
        return bool(self[name]) if isinstance(name, str) else False

    def __getitem__(self, name: str) -> Store:
        """The store ``name``, empty until written.

        :raises KeyError: for a name the manager does not allow.
        """
        store = self._stores.get(name)
        if store is None:
            store = self._store(self._manager.check_store_name(name))
        return store

    def _store(self, name: str) -> Store:
        """The store ``name``, opened (and the session loaded) on first use; no name check."""
        store = self._stores.get(name)
        if store is not None:
            return store
        self._load()
        stored = None if self._record is None else self._record.stores.get(name)
        decoded = self._decoded.pop(name, None)
        data = None if decoded is None or decoded[0] is not stored else decoded[1]
        store = Store(self, name, stored, self._manager.clock(), data)
        self._stores[name] = store
        return store

    @property
    def user(self) -> str | None:
        """The user this session belongs to (set by :meth:`rotate`), or None."""
        self._load()
        return None if self._record is None else self._record.user

    @property
    def is_new(self) -> bool:
        """True until the session is stored (nothing written yet, or it ended)."""
        self._load()
        return self._record is None

    def _load(self) -> None:
        """Read the record the cookie names, once (one round trip, a pure read; none without a
        cookie)."""
        if self._loaded:
            return
        self._loaded = True
        assert self._request is not None
        # what `request.cookies` would parse, without building the request's header view and an
        # immutable copy: the WSGI header as it is (not transcoded, so any bytes are accepted)
        header = self._request.environ.get("HTTP_COOKIE", "")
        sent = parse_cookie(header).get(self._manager.cookie_name)
        self._request = None
        if sent is None or not is_well_formed(sent):
            return  # an id that cannot be one of ours is not even looked up
        manager = self._manager
        key = key_of(sent)
        try:
            record = manager.driver.load(key, manager.clock())
        except StoreUnavailable as exc:
            if manager.on_outage == "empty":
                manager.logger.error("the session store is unavailable: %s", exc)
                self._read_only = True
                return
            manager.unavailable(exc)
        if record is None:
            return
        decoded = {}
        try:
            for name, stored in record.stores.items():
                data = _load_json(stored.data)
                if not isinstance(data, dict):
                    raise ValueError("not a JSON object")
                decoded[name] = (stored, data)
        except (ValueError, TypeError) as exc:
            manager.logger.warning("a stored session is not JSON (%s): it was deleted", exc)
            self._call(manager.driver.delete, key)
            return
        self._id, self._key, self._record, self._decoded = sent, key, record, decoded

    def _call(self, operation: Callable[..., T], *args: Any) -> T:
        """Run a driver call, turning an outage into the logged 503."""
        try:
            return operation(*args)
        except StoreUnavailable as exc:
            self._manager.unavailable(exc)

    def writable(self) -> None:
        """Raise the 503 of an outage when the session was opened read-only."""
        if self._read_only:
            raise SessionUnavailable()

    # security

    def rotate(self, *, user: str | None = _UNSET) -> None:
        """Give the session a new id, keeping its data; call it at login (and at any change of
        privilege). ``user`` sets who it belongs to, for :meth:`revoke_user`.

        Done at once: the data, including this request's changes, is stored under the new id,
        the old id's record is deleted, and the response will carry the new cookie.
        """
        self._load()
        self.writable()
        manager = self._manager
        now = manager.clock()
        stores = self._snapshot(now)
        owner = (None if self._record is None else self._record.user) if user is _UNSET else user
        if owner is not None and not isinstance(owner, str):
            raise TypeError(f"`user` must be a string or None, not {owner!r}")
        old = None if self._id is None else self._key
        self._create(stores, owner, now)
        if old is not None:
            self._call(manager.driver.delete, old)

    def destroy(self) -> None:
        """End the session: its record is deleted and the browser told to drop the cookie.

        Replaying the old cookie finds nothing. What is written after this starts a new session.
        """
        self._load()
        if self._id is not None:
            self._call(self._manager.driver.delete, self._key)
        self._id = self._record = None
        self._key = ""
        self._stores.clear()
        self._cookie = None
        self._forget_cookie = True

    def revoke_user(self, user: str) -> int:
        """End every session of ``user`` everywhere; how many there were."""
        return self._manager.revoke_user(user)

    def csrf_token(self) -> str:
        """This session's CSRF token, for a hidden ``csrf_token`` form field or an
        ``X-CSRF-Token`` header; made (and the session stored) on first use."""
        store = self._store(_CSRF)
        token = store.get("token")
        if not isinstance(token, str):
            token = secrets.token_urlsafe(32)
            store["token"] = token
        return token

    def check_csrf(self, value: object) -> bool:
        """Whether ``value`` is this session's CSRF token (compared in constant time)."""
        token = self._store(_CSRF).get("token")
        if not isinstance(token, str) or not isinstance(value, str):
            return False
        return hmac.compare_digest(value.encode(), token.encode())

    def require_csrf(self, request: Request) -> None:
        """Refuse ``request`` with 403 unless its ``csrf_token`` form field or ``X-CSRF-Token``
        header carries this session's token."""
        value = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token")
        if not self.check_csrf(value):
            raise Forbidden("The form's CSRF token is missing or wrong: reload the page.")

    # flash messages

    def flash(self, message: str, category: str = "message") -> None:
        """Keep ``message`` for the next page that calls :meth:`flashes`."""
        store = self._store(_FLASH)
        store["messages"] = [*store.get("messages", []), [category, message]]

    def flashes(self) -> list[tuple[str, str]]:
        """The flash messages waiting, as ``(category, message)``; they are removed."""
        store = self._store(_FLASH)
        if "messages" not in store:
            return []
        messages = store.pop("messages")
        return [(str(category), str(message)) for category, message in messages]

    # saving

    def finish(self, response: Response, *, failed: bool = False) -> None:
        """Save what changed and set the cookie on ``response``. Called after the late hook;
        nothing is saved when ``failed`` (the handler raised, or the status is 5xx).

        A session that was read and not written has its idle expiry moved by one ``touch`` when
        that is due, failed or not: the browser was active either way."""
        if self._loaded:
            if "Vary" in response.headers:
                response.vary.add("Cookie")
            else:
                response.headers["Vary"] = "Cookie"
        if not failed and not self._read_only:
            self._save()
        self._touch_if_due()
        manager = self._manager
        if self._cookie is not None:
            manager.set_cookie(response, *self._cookie)
        elif self._forget_cookie:
            manager.delete_cookie(response)

    def _touch_if_due(self) -> None:
        """Move the expiry of a session that was read, not written, when it is due. An outage
        here is logged and the response left as it is: the session stays live until the expiry
        it has, which is at most ``refresh_interval`` short of the one it would have had."""
        record = self._record
        if self._extended or self._id is None or record is None:
            return
        manager = self._manager
        now = manager.clock()
        if not manager.touch_due(record, now):
            return
        try:
            live = manager.driver.touch(self._key, now, manager.idle_timeout)
        except StoreUnavailable as exc:
            manager.logger.error("the session store is unavailable; expiry not moved: %s", exc)
            return
        self._extended = True
        if not live:
            manager.logger.info("the session ended while this request ran: expiry not moved")

    def _changes(self) -> dict[str, tuple[dict[str, str], set[str]]]:
        changes = {}
        for name, store in self._stores.items():
            changed, deleted = store.changes()
            if changed or deleted:
                changes[name] = (changed, deleted)
        return changes

    def _save(self) -> None:
        changes = self._changes()
        if not changes:
            return
        manager = self._manager
        now = manager.clock()
        if self._record is None:
            self._create(self._snapshot(now), None, now)
            return
        assert self._id is not None
        key = self._key
        record: Record = self._record
        for _attempt in range(MAX_ATTEMPTS):
            writes = {}
            for name, (changed, deleted) in changes.items():
                stored = record.stores.get(name)
                data: dict[str, Any]
                if stored is None or _lapsed(stored, now):
                    data = {}
                else:
                    data = self._stores[name].contents_of(stored)
                for item in deleted:
                    data.pop(item, None)
                data.update((item, _load_json(text)) for item, text in changed.items())
                lifetime = manager.store_lifetime(name)
                writes[name] = StoreWrite(
                    0 if stored is None else stored.version,
                    _dump(data),
                    None if lifetime is None else now + lifetime,
                )
            self._check_size(record, writes)
            result = self._call(manager.driver.write, key, writes, now, manager.idle_timeout)
            if result.outcome is Written.OK:
                self._extended = True
                return
            if result.outcome is Written.MISSING:
                manager.logger.info("the session ended while this request ran: not saved")
                self._extended = True  # nothing left to touch
                return
            assert result.current is not None
            record = result.current
        raise SessionError(f"the session could not be saved after {MAX_ATTEMPTS} attempts")

    def _snapshot(self, now: float) -> dict[str, StoreRecord]:
        """Every store as this request sees it now, for a new record (versions start at 1)."""
        lifetimes = {}
        stores: dict[str, str] = {}
        if self._record is not None:
            for name, stored in self._record.stores.items():
                if not _lapsed(stored, now):
                    stores[name] = stored.data
                    lifetimes[name] = stored.expires
        for name, store in self._stores.items():
            changed, deleted = store.changes()
            stores[name] = store.text()
            if changed or deleted:
                lifetime = self._manager.store_lifetime(name)
                lifetimes[name] = None if lifetime is None else now + lifetime
        snapshot = {
            name: StoreRecord(text, 1, lifetimes.get(name))
            for name, text in stores.items()
            if text != "{}"
        }
        self._check_size(None, snapshot)
        return snapshot

    def _check_size(
        self, record: Record | None, stores: Mapping[str, StoreWrite | StoreRecord]
    ) -> None:
        sizes = {} if record is None else {n: len(s.data) for n, s in record.stores.items()}
        sizes.update((name, len(store.data)) for name, store in stores.items())
        total = sum(sizes.values())
        if total > self._manager.max_size:
            detail = ", ".join(f"`{name}` {size}" for name, size in sorted(sizes.items()))
            raise SessionTooLarge(
                f"the session would hold {total} bytes of JSON, over `max_size` "
                f"({self._manager.max_size}); by store: {detail}"
            )

    def _create(self, stores: dict[str, StoreRecord], user: str | None, now: float) -> None:
        """Store ``stores`` under a new id, and make it this session's."""
        manager = self._manager
        deadline = now + manager.absolute_timeout
        record = Record(user, now, deadline, min(deadline, now + manager.idle_timeout), stores)
        for _attempt in range(3):  # a clash of 256-bit ids does not happen; a bug might
            session_id = new_id()
            key = key_of(session_id)
            if self._call(manager.driver.create, key, record):
                break
        else:
            raise SessionError("no new session id could be stored: the store refuses new keys")
        self._id, self._key, self._record = session_id, key, record
        self._extended = True
        for name, store in self._stores.items():
            store.rebase(stores.get(name), now)
        self._cookie = (session_id, manager.absolute_timeout)
        self._forget_cookie = False

    def _transact(self, name: str, fn: Callable[[dict[str, Any]], T]) -> T:
        self._load()
        self.writable()
        manager = self._manager
        if self._record is None:
            self._create(self._snapshot(manager.clock()), None, manager.clock())
        assert self._id is not None
        assert self._record is not None
        key = self._key
        record: Record = self._record
        for _attempt in range(MAX_ATTEMPTS):
            now = manager.clock()
            stored = record.stores.get(name)
            data = {} if stored is None or _lapsed(stored, now) else _load_json(stored.data)
            result = fn(data)
            text = _store_text(name, data)
            lifetime = manager.store_lifetime(name)
            expires = None if lifetime is None else now + lifetime
            write = {name: StoreWrite(0 if stored is None else stored.version, text, expires)}
            self._check_size(record, write)
            outcome = self._call(manager.driver.write, key, write, now, manager.idle_timeout)
            if outcome.outcome is Written.OK:
                self._extended = True
                version = 1 if stored is None else stored.version + 1
                committed = StoreRecord(text, version, expires)
                stores = {**record.stores, name: committed}
                self._record = dataclasses.replace(record, stores=stores)
                store = self._stores.get(name)
                if store is not None:
                    store.rebase(committed, now)
                return result
            if outcome.outcome is Written.MISSING:
                raise SessionError("the session ended while `transact` ran: nothing was written")
            assert outcome.current is not None
            record = outcome.current
        raise SessionError(f"`transact` on store `{name}` gave up after {MAX_ATTEMPTS} attempts")


def _same_json(value: Any, before: Any) -> bool:
    """Whether two values of the immutable types have the same JSON, found without encoding
    them: of the same type and equal, a float of the same sign (``0.0`` is not ``-0.0``)."""
    if value is before:
        return True
    kind = type(value)
    if kind is not type(before) or value != before:
        return False
    return kind is not float or math.copysign(1.0, value) == math.copysign(1.0, before)


def _lapsed(stored: StoreRecord, now: float) -> bool:
    return stored.expires is not None and stored.expires <= now


def _store_text(name: str, data: Mapping[str, Any]) -> str:
    for item in data:
        if not isinstance(item, str):
            raise TypeError(f"session store `{name}`: keys must be strings, not {item!r}")
    try:
        return _dump(data)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"session store `{name}` can hold JSON values only: {exc}") from exc


class Store(MutableMapping[str, Any]):
    """One named store of a session: a dict of JSON values (str, int, float, bool, None, and
    lists and dicts of them). Changes are saved when the request ends, including changes
    made inside a value (``store["cart"].append(item)``)."""

    def __init__(
        self,
        session: Session,
        name: str,
        stored: StoreRecord | None,
        now: float,
        decoded: dict[str, Any] | None = None,
    ) -> None:
        self._session = session
        self.name = name
        self._data: dict[str, Any] = {}
        self._read: dict[str, Any] = {}
        self._base: dict[str, str] = {}
        self._set: dict[str, tuple[Any, str]] = {}
        self._stored: StoreRecord | None = None
        self.rebase(stored, now, decoded)

    def rebase(
        self, stored: StoreRecord | None, now: float, decoded: dict[str, Any] | None = None
    ) -> None:
        """Start again from ``stored`` (what the store holds), keeping no local change.

        :param decoded: ``stored``'s data already decoded, a dict no one else holds.
        """
        data: dict[str, Any]
        if stored is None or _lapsed(stored, now):
            data = {}
        else:
            data = _load_json(stored.data) if decoded is None else decoded
        self._data = data
        self._stored = None if stored is None or not data else stored  # what `_read` holds
        # what was read, value by value; the JSON of the values that can change in place
        self._read = dict(data)
        self._base = {
            key: _dump(value) for key, value in data.items() if type(value) not in _IMMUTABLE
        }
        self._set = {}  # key -> (value, its JSON) as last set, for a value that cannot change

    def __repr__(self) -> str:
        return f"<Store {self.name!r} {self._data!r}>"

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        """:raises TypeError: when ``key`` is not a string or ``value`` is not JSON."""
        self._session.writable()
        if not isinstance(key, str):
            raise TypeError(f"session store `{self.name}`: keys must be strings, not {key!r}")
        try:
            text = _dump(value)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"session store `{self.name}`, key {key!r}: only JSON values can be kept "
                f"(str, int, float, bool, None, lists and dicts of them): {exc}"
            ) from exc
        if len(text) > self._session._manager.max_size:
            raise SessionTooLarge(
                f"session store `{self.name}`, key {key!r}: {len(text)} bytes of JSON, over "
                f"`max_size` ({self._session._manager.max_size})"
            )
        self._data[key] = value
        if type(value) in _IMMUTABLE:
            self._set[key] = (value, text)

    def __delitem__(self, key: str) -> None:
        self._session.writable()
        del self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def text(self) -> str:
        """The store's JSON, as it would be saved now."""
        return _store_text(self.name, self._data)

    def contents_of(self, stored: StoreRecord) -> dict[str, Any]:
        """A new dict of what ``stored`` holds, without decoding it when it is what this store
        read and holds no list or dict (which may have been changed in place since)."""
        if stored is self._stored and not self._base:
            return dict(self._read)
        data: dict[str, Any] = _load_json(stored.data)
        return data

    def changes(self) -> tuple[dict[str, str], set[str]]:
        """(key -> JSON of each key set or changed, keys deleted) since the store was read."""
        changed = {}
        read, base, known = self._read, self._base, self._set
        for key, value in self._data.items():
            before = read.get(key, _UNSET)
            immutable = type(value) in _IMMUTABLE
            if immutable and (
                value is before or (type(before) in _IMMUTABLE and _same_json(value, before))
            ):
                continue  # the value read, or one with the same JSON
            last = known.get(key) if immutable else None
            if last is not None and last[0] is value:
                text = last[1]
            else:
                try:
                    text = _dump(value)
                except (TypeError, ValueError) as exc:
                    raise TypeError(
                        f"session store `{self.name}`, key {key!r} no longer holds JSON: {exc}"
                    ) from exc
            if before is _UNSET or immutable:
                # a value of the immutable types that is not `_same_json` as the one read has
                # another JSON, and its JSON is never that of a list or a dict
                changed[key] = text
            elif text != (base[key] if key in base else _dump(before)):
                changed[key] = text
        return changed, read.keys() - self._data.keys()

    def transact(self, fn: Callable[[dict[str, Any]], T]) -> T:
        """Read, modify and write this store at once, exactly: ``fn(data)`` changes ``data``
        (the store's contents as they are in the store now) and returns what ``transact``
        returns; when another request wrote the store meanwhile, ``fn`` runs again on the
        new contents. This request's other changes to the store are dropped.

        Example: ``session["stats"].transact(lambda d: d.update(hits=d.get("hits", 0) + 1))``.
        """
        return self._session._transact(self.name, fn)
