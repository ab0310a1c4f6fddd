"""The message broker between edge boxes and the central: a thin interface, Redis Streams behind it.

A site needs from its broker: an append-only log per edge with ids the
producer chooses (so a retried publish cannot duplicate), consumer groups with
a pending list (so nothing read is lost before it is acknowledged),
acknowledgement, taking over another consumer's pending entries, a plain read
for the id channel back to the edges, a few keys (checkpoint, registry,
liveness) and a lease (one active central). :class:`Broker` names exactly
that; :class:`RedisBroker` implements it on Redis ≥ 7.0 streams with
`redis-py <https://redis.readthedocs.io>`_ (its ``Lock`` is the lease). A
Kafka adapter would implement the same methods (key = edge, one partition per
edge); only Redis ships.

URLs: ``redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]`` or ``rediss://`` for TLS
(``?ssl_ca_certs=PATH`` and friends as redis-py reads them); a password or ACL
user in the URL authenticates. Refusals that retrying cannot cure (wrong
password or ACL user, a missing ACL permission, a server certificate the CA
does not vouch for, an unreadable CA file) are :class:`BrokerError`, one line
with the password hidden; a server that is away is :class:`BrokerUnavailable`.

Stream ids are ``{tick}-1``: Redis refuses an id that is not above the
stream's last one ("equal or smaller than the target stream top item"), which
:meth:`RedisBroker.publish` reports as "already stored" (``False``), so a
publish retried after a lost reply is idempotent on Redis 7.0 too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from mlfn_keras.errors import UserError

#: Entry: ``(stream, entry_id, fields)``; fields are ``bytes → bytes`` (``None`` when trimmed away).
Entry = tuple[str, str, "dict[bytes, bytes] | None"]


class BrokerUnavailable(ConnectionError):
    """The broker cannot be reached right now (the caller retries with back-off)."""


class BrokerError(UserError):
    """The broker refused us for good (bad URL, wrong password, too old a server)."""


@dataclass(frozen=True)
class StreamInfo:
    """What the broker says about one stream and the central's group on it."""

    length: int
    lag: int | None
    pending: int
    last_id: str | None


class Lease(Protocol):
    def renew(self) -> bool: ...

    def release(self) -> None: ...


class Broker(Protocol):
    """What edges and the central need from a broker (see the module docstring)."""

    url: str

    def ping(self) -> None: ...

    def publish(self, stream: str, entry_id: str, fields: Mapping[str, bytes], maxlen: int | None = None) -> bool: ...

    def last_entry(self, stream: str) -> tuple[str, dict[bytes, bytes]] | None: ...

    def ensure_group(self, stream: str, group: str) -> None: ...

    def read_group(self, group: str, consumer: str, streams: Sequence[str], count: int, block_ms: int | None) -> list[Entry]: ...

    def read_pending(self, group: str, consumer: str, stream: str) -> list[Entry]: ...

    def ack(self, stream: str, group: str, ids: Sequence[str]) -> None: ...

    def claim(self, stream: str, group: str, consumer: str, min_idle_ms: int = 0) -> int: ...

    def read(self, stream: str, after_id: str, count: int, block_ms: int | None) -> list[tuple[str, dict[bytes, bytes]]]: ...

    def info(self, stream: str, group: str | None = None) -> StreamInfo: ...

    def get(self, key: str) -> bytes | None: ...

    def set(self, key: str, value: bytes, ttl_ms: int | None = None) -> None: ...

    def hset(self, key: str, field: str, value: bytes) -> None: ...

    def hgetall(self, key: str) -> dict[str, bytes]: ...

    def delete(self, *keys: str) -> None: ...

    def lease(self, name: str, ttl_ms: int, wait_s: float | None) -> Lease | None: ...

    def memory_used(self) -> int: ...

    def close(self) -> None: ...


#: TLS errors that a dropped or restarting server also gives (retried, not refused for good).
_TRANSIENT_SSL = ("SSLEOFError", "SSLZeroReturnError", "SSLSyscallError", "SSLWantReadError", "SSLWantWriteError")


def _unavailable(exc: Exception, url: str) -> BrokerUnavailable | BrokerError:
    """A failed connection: :class:`BrokerUnavailable` (retried), or :class:`BrokerError` when TLS refused it
    for good (an untrusted certificate, a CA file that cannot be read, a server that does not speak TLS)."""
    import ssl

    seen, cause = set(), exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, ssl.SSLCertVerificationError):
            return BrokerError(f"broker {redact(url)}: TLS certificate not trusted ({cause.verify_message}); "
                               "expected ?ssl_ca_certs=PATH naming the CA that signed the server's certificate, "
                               "and a host the certificate names")
        if isinstance(cause, ssl.SSLError) and type(cause).__name__ not in _TRANSIENT_SSL:
            return BrokerError(f"broker {redact(url)}: TLS failed ({cause.reason or cause}); expected rediss:// "
                               "at the server's tls-port and ?ssl_ca_certs=PATH of a PEM file")
        if isinstance(cause, TimeoutError) and "handshake" in str(cause) and _speaks_plain_redis(url):
            return BrokerError(f"broker {redact(url)}: the server at this port speaks plain Redis, not TLS; "
                               "expected rediss:// at the server's tls-port, or redis:// for this one")
        if isinstance(cause, FileNotFoundError | PermissionError | IsADirectoryError) and url.startswith("rediss:"):
            return BrokerError(f"broker {redact(url)}: cannot read a TLS file ({cause.strerror}); "
                               "expected ?ssl_ca_certs=PATH of a readable PEM file")
        cause = cause.__cause__ or cause.__context__
    return BrokerUnavailable(f"broker {redact(url)} unreachable ({exc})")


def _speaks_plain_redis(url: str, timeout: float = 1.0) -> bool:
    """Whether the ``rediss://`` URL's port answers a plain-text PING (a TLS handshake sent there just hangs:
    Redis waits for a command line, so without this a wrong port would be retried forever as "away")."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme != "rediss" or not parts.hostname:
        return False
    try:
        with socket.create_connection((parts.hostname, parts.port or 6379), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            reply = sock.recv(64)
    except OSError:
        return False
    return reply[:1] in (b"+", b"-")  # +PONG, or -NOAUTH / -ERR: a RESP reply, so no TLS on this port


def redact(url: str) -> str:
    """The URL with its password hidden (for logs)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def check_url(url: str) -> str:
    """Refuses a broker URL that is not ``redis://`` or ``rediss://``; returns it."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (parses the port)
    except ValueError as exc:
        raise BrokerError(f"--broker got {url!r} ({exc}); expected redis://HOST:PORT or rediss://HOST:PORT") from None
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise BrokerError(f"--broker got {redact(url)!r}; expected redis://[USER:PASSWORD@]HOST[:PORT] "
                          "or rediss:// for TLS")
    return url


class _RedisLease:
    """``SET key token NX PX ttl``; renewed and released only while the key still holds our token
    (``WATCH``/``MULTI``, so it works without Lua scripting)."""

    def __init__(self, broker: RedisBroker, key: str, token: bytes, ttl_ms: int):
        self._broker, self._key, self._token, self._ttl = broker, key, token, ttl_ms

    def _if_ours(self, action) -> bool | None:
        """Runs ``action`` if the key holds our token: ``True``; ``None``: the key is gone; ``False``: another holder."""
        import redis

        b = self._broker
        for _ in range(3):
            try:
                with b.r.pipeline() as pipe:
                    pipe.watch(self._key)
                    value = pipe.get(self._key)
                    if value != self._token:
                        return None if value is None else False
                    pipe.multi()
                    action(pipe)
                    pipe.execute()
                    return True
            except redis.exceptions.WatchError:
                continue
            except b._errors as exc:
                raise _unavailable(exc, b.url) from None
        return False

    def renew(self) -> bool:
        """Extends the lease; one that expired unclaimed is taken again. ``False``: another holder has it.

        Raises:
            BrokerUnavailable: the broker cannot be asked right now (the caller retries).
        """
        ours = self._if_ours(lambda p: p.pexpire(self._key, self._ttl))
        if ours is None:
            return bool(self._broker._call(self._broker.r.set, self._key, self._token, nx=True, px=self._ttl))
        return ours

    def release(self) -> None:
        try:
            self._if_ours(lambda p: p.delete(self._key))
        except BrokerUnavailable:
            pass


class RedisBroker:
    """:class:`Broker` on Redis Streams.

    Args:
        url: ``redis://`` or ``rediss://`` URL (see the module docstring).
        client: an existing ``redis.Redis`` (e.g. ``fakeredis.FakeRedis``) instead of connecting to ``url``.
        timeout: socket timeout in seconds (a read that blocks adds its block time).
    """

    def __init__(self, url: str = "redis://127.0.0.1:6379", client=None, timeout: float = 5.0):
        import redis

        self.url = url
        self._errors = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)
        self._redis_error = redis.exceptions.ResponseError
        self._auth_error = redis.exceptions.AuthenticationError
        self._perm_error = redis.exceptions.NoPermissionError
        if client is None:
            check_url(url)
            client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout,
                                          health_check_interval=10)
        self.r = client

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except self._auth_error as exc:
            raise BrokerError(f"broker {redact(self.url)} refused the credentials ({exc}); "
                              "expected the password / ACL user of the site in the URL") from None
        except self._errors as exc:
            raise _unavailable(exc, self.url) from None
        except self._perm_error as exc:  # NOPERM (redis-py strips the code from the message)
            raise BrokerError(f"broker {redact(self.url)} refused us (NOPERM {exc}); expected the ACL user of "
                              "the site's role in the URL, with the permissions docs/multibox.md gives") from None
        except self._redis_error as exc:
            if "NOAUTH" in str(exc) or "WRONGPASS" in str(exc) or "NOPERM" in str(exc):
                raise BrokerError(f"broker {redact(self.url)} refused us ({exc}); "
                                  "expected the password / ACL user of the site in the URL") from None
            raise

    def ping(self) -> None:
        self._call(self.r.ping)
        try:
            version = self._call(self.r.info, "server").get("redis_version", "0")
        except self._redis_error:  # a server (or stand-in) without INFO
            return
        if tuple(int(v) for v in str(version).split(".")[:2] if v.isdigit()) < (7, 0):
            raise BrokerError(f"broker {redact(self.url)} runs Redis {version}; expected Redis 7.0 or newer")

    def publish(self, stream: str, entry_id: str, fields: Mapping[str, bytes], maxlen: int | None = None) -> bool:
        try:
            self._call(self.r.xadd, stream, dict(fields), id=entry_id, maxlen=maxlen, approximate=True)
            return True
        except self._redis_error as exc:
            if "equal or smaller" in str(exc):
                return False  # this id (or a later one) is stored already: a retried publish
            # e.g. OOM under noeviction while the central is away: retried, never dropped silently
            raise BrokerUnavailable(f"broker {redact(self.url)} refused the message ({exc})") from None

    def last_entry(self, stream: str) -> tuple[str, dict[bytes, bytes]] | None:
        rows = self._call(self.r.xrevrange, stream, "+", "-", count=1)
        if not rows:
            return None
        entry_id, fields = rows[0]
        return _text(entry_id), fields

    def ensure_group(self, stream: str, group: str) -> None:
        try:
            self._call(self.r.xgroup_create, stream, group, id="0", mkstream=True)
        except self._redis_error as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def read_group(self, group: str, consumer: str, streams: Sequence[str], count: int, block_ms: int | None) -> list[Entry]:
        """New entries (``>``) of several streams for this consumer."""
        if not streams:
            return []
        reply = self._call(self.r.xreadgroup, group, consumer, {s: ">" for s in streams}, count=count, block=block_ms)
        return [(stream, _text(i), f or None) for stream, rows in _stream_rows(reply) for i, f in rows]

    def read_pending(self, group: str, consumer: str, stream: str) -> list[Entry]:
        """Every entry delivered to this consumer and not acknowledged (its pending list), oldest first."""
        out: list[Entry] = []
        after = "0"
        while True:
            reply = self._call(self.r.xreadgroup, group, consumer, {stream: after}, count=1000)
            rows = [r for _, rs in _stream_rows(reply) for r in rs]
            if not rows:
                return out
            out += [(stream, _text(i), f or None) for i, f in rows]
            after = _text(rows[-1][0])

    def ack(self, stream: str, group: str, ids: Sequence[str]) -> None:
        if ids:
            self._call(self.r.xack, stream, group, *ids)

    def claim(self, stream: str, group: str, consumer: str, min_idle_ms: int = 0) -> int:
        claimed, start = 0, "0-0"
        while True:
            reply = self._call(self.r.xautoclaim, stream, group, consumer, min_idle_ms, start_id=start, count=1000)
            start, ids = _text(reply[0]), reply[1]
            claimed += len(ids)
            if start == "0-0" or not ids:
                return claimed

    def read(self, stream: str, after_id: str, count: int, block_ms: int | None) -> list[tuple[str, dict[bytes, bytes]]]:
        reply = self._call(self.r.xread, {stream: after_id}, count=count, block=block_ms)
        return [(_text(i), f) for _, rows in _stream_rows(reply) for i, f in rows]

    def info(self, stream: str, group: str | None = None) -> StreamInfo:
        length = int(self._call(self.r.xlen, stream))
        lag, pending, last = None, 0, None
        if group is not None:
            try:
                for g in self._call(self.r.xinfo_groups, stream):
                    if _text(g.get("name")) == group:
                        lag = g.get("lag")
                        pending = int(g.get("pending") or 0)
                        last = _text(g.get("last-delivered-id"))
            except self._redis_error:
                pass
        return StreamInfo(length, None if lag is None else int(lag), pending, last)

    def get(self, key: str) -> bytes | None:
        return self._call(self.r.get, key)

    def set(self, key: str, value: bytes, ttl_ms: int | None = None) -> None:
        self._call(self.r.set, key, value, px=ttl_ms)

    def hset(self, key: str, field: str, value: bytes) -> None:
        self._call(self.r.hset, key, field, value)

    def hgetall(self, key: str) -> dict[str, bytes]:
        return {_text(k): v for k, v in self._call(self.r.hgetall, key).items()}

    def delete(self, *keys: str) -> None:
        if keys:
            self._call(self.r.delete, *keys)

    def lease(self, name: str, ttl_ms: int, wait_s: float | None) -> _RedisLease | None:
        import os
        import socket
        import time

        token = f"{socket.gethostname()}:{os.getpid()}:{time.time_ns()}".encode()
        deadline = None if wait_s is None else time.monotonic() + wait_s
        while True:
            if self._call(self.r.set, name, token, nx=True, px=ttl_ms):
                return _RedisLease(self, name, token, ttl_ms)
            if deadline is not None and time.monotonic() >= deadline:
                return None
            time.sleep(min(0.2, ttl_ms / 5000.0))

    def lease_holder(self, name: str) -> str | None:
        """Who holds a lease (``host:pid:…``), or ``None``."""
        v = self._call(self.r.get, name)
        return None if v is None else _text(v)

    def memory_used(self) -> int:
        """Bytes the server uses (``-1`` where it does not say)."""
        try:
            return int(self._call(self.r.info, "memory").get("used_memory", -1))
        except self._redis_error:
            return -1

    def close(self) -> None:
        try:
            self.r.close()
        except Exception:
            pass


def _text(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def _stream_rows(reply):
    """``[(stream, rows)]`` from an XREAD/XREADGROUP reply."""
    if not reply:
        return []
    items = reply.items() if isinstance(reply, dict) else reply
    return [(_text(stream), rows) for stream, rows in items]
