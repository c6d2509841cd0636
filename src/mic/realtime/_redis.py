"""`RedisStreamsRealtimeBackend`: one Redis stream per room, read by one task per process.

``XADD`` publishes (trimmed with ``MAXLEN ~``); each process reads all its rooms with one
blocking ``XREAD`` from the last id it saw, so a broadcast reaches every worker once and in
order, and an id is what a client resumes from (``XRANGE``). A private control stream wakes
the reader when a room is added (ADR 0092). Presence is a sorted set per room whose scores
are expiry times, refreshed by the hub, so a crashed worker's members fade out. Requires the
``redis`` extra.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mic._deps import require
from mic.model import TransientError
from mic.realtime._backend import Deliver, RealtimeBackend, RoomMessage, message_id_key

if TYPE_CHECKING:
    from redis.asyncio import Redis

logger = logging.getLogger("mic.realtime")

_FIELD = "d"
_BATCH = 1000


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisStreamsRealtimeBackend(RealtimeBackend):
    """A `RealtimeBackend` on Redis Streams (Redis >= 6.2), shared by every worker.

    Args:
        client: A `redis.asyncio.Redis` client; the reader holds one of its connections
            while it waits. It is closed by `close` only when made by `from_url`.
        prefix: Key prefix: room ``orders:42`` lives in ``<prefix>room:orders:42``.
        max_length: Approximate messages kept per room for replay (``XADD MAXLEN ~``).
        presence_ttl: Seconds a member stays present without a refresh.
        clock: Wall clock in seconds, for presence expiry.
        sleep: Waits between reconnection attempts of the reader.

    Raises:
        MissingDependencyError: The ``redis`` extra is not installed.
        ValueError: A `max_length` below 1 or a non-positive `presence_ttl`.
    """

    def __init__(
        self,
        client: Redis,
        *,
        prefix: str = "mic:realtime:",
        max_length: int = 10_000,
        presence_ttl: float = 60.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        require("redis.asyncio", "redis")
        if max_length < 1:
            raise ValueError("max_length must be >= 1")
        if not 0 < presence_ttl < 86_400:
            raise ValueError("presence_ttl must be between 0 and 86400 seconds")
        self.client = client
        self.prefix = prefix
        self.max_length = max_length
        self.presence_ttl = presence_ttl
        self._clock = clock
        self._sleep = sleep
        self._owns_client = False
        self._control = f"{prefix}control:{uuid.uuid4().hex}"
        self._positions: dict[str, str] = {}
        self._subscribers: dict[str, list[Deliver]] = {}
        self._reader: asyncio.Task[None] | None = None
        # Below redis-py's default 5 s socket timeout, so an idle wait is never an error.
        self._block_ms = 1000

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisStreamsRealtimeBackend:
        """A backend with its own client for `url`, closed by `close`."""
        redis_asyncio = require("redis.asyncio", "redis")
        backend = cls(redis_asyncio.from_url(url), **kwargs)
        backend._owns_client = True
        return backend

    def _key(self, room: str) -> str:
        return f"{self.prefix}room:{room}"

    async def publish(self, room: str, data: str) -> str:
        """``XADD`` the message to the room's stream; return its id."""
        redis = require("redis", "redis")
        try:
            message_id = await self.client.xadd(
                self._key(room), {_FIELD: data}, maxlen=self.max_length, approximate=True
            )
        except redis.RedisError as error:
            raise TransientError(message="The realtime backend is unavailable") from error
        return _text(message_id)

    async def subscribe(self, room: str, deliver: Deliver) -> None:
        """Start reading `room` from its current last id (messages after this call arrive)."""
        if room in self._subscribers:
            self._subscribers[room].append(deliver)
            return
        latest = await self.client.xrevrange(self._key(room), count=1)
        self._positions[room] = _text(latest[0][0]) if latest else "0-0"
        self._subscribers[room] = [deliver]
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read(), name="mic.realtime.redis-reader")
        else:
            # The reader is blocked on the old set of rooms: wake it.
            await self.client.xadd(self._control, {_FIELD: room}, maxlen=16, approximate=False)

    async def unsubscribe(self, room: str, deliver: Deliver) -> None:
        """Stop delivering `room` to `deliver`; the room is dropped from the next read."""
        subscribers = self._subscribers.get(room, [])
        if deliver in subscribers:
            subscribers.remove(deliver)
        if not subscribers:
            self._subscribers.pop(room, None)
            self._positions.pop(room, None)

    async def _read(self) -> None:
        redis = require("redis", "redis")
        client: Any = self.client  # redis-py's stub types the reply as a union of everything
        control_position = "0-0"
        failures = 0
        while self._positions:
            streams = {self._control: control_position}
            streams |= {self._key(room): position for room, position in self._positions.items()}
            try:
                reply = await client.xread(streams, count=_BATCH, block=self._block_ms)
            except redis.RedisError:
                failures += 1
                logger.warning("realtime reader lost Redis; retrying", exc_info=True)
                await self._sleep(min(0.05 * 2**failures, 2.0))
                continue
            failures = 0
            for stream, entries in reply or ():
                key = _text(stream)
                if key == self._control:
                    control_position = _text(entries[-1][0])
                    continue
                self._dispatch(key.removeprefix(f"{self.prefix}room:"), entries)

    def _dispatch(self, room: str, entries: list[Any]) -> None:
        if room not in self._positions:
            return
        for raw_id, fields in entries:
            message_id = _text(raw_id)
            self._positions[room] = message_id
            data = fields.get(_FIELD.encode(), fields.get(_FIELD))
            message = RoomMessage(room, message_id, _text(data))
            for deliver in tuple(self._subscribers.get(room, ())):
                deliver(message)

    async def history(self, room: str, after: str, limit: int) -> list[RoomMessage]:
        """``XRANGE`` from just after `after`."""
        message_id_key(after)
        client: Any = self.client
        entries = await client.xrange(self._key(room), min=f"({after}", count=limit)
        return [
            RoomMessage(room, _text(raw_id), _text(fields.get(_FIELD.encode(), fields.get(_FIELD))))
            for raw_id, fields in entries
        ]

    def _presence_key(self, room: str) -> str:
        return f"{self.prefix}presence:{room}"

    async def add_member(self, room: str, member: str) -> None:
        """``ZADD`` the member with its expiry as score."""
        await self.refresh_members({room: {member}})

    async def refresh_members(self, members: dict[str, set[str]]) -> None:
        """Push the expiry of every listed member `presence_ttl` ahead, in one round trip."""
        expiry = self._clock() + self.presence_ttl
        async with self.client.pipeline(transaction=False) as pipe:
            for room, names in members.items():
                if names:
                    pipe.zadd(self._presence_key(room), dict.fromkeys(names, expiry))
                    pipe.expire(self._presence_key(room), int(self.presence_ttl * 2) + 1)
            await pipe.execute()

    async def remove_member(self, room: str, member: str) -> None:
        """``ZREM`` the member."""
        await self.client.zrem(self._presence_key(room), member)

    async def members(self, room: str) -> list[str]:
        """Members whose expiry is still ahead, sorted."""
        found = await self.client.zrangebyscore(self._presence_key(room), self._clock(), "+inf")
        return sorted(_text(member) for member in found)

    async def ping(self) -> None:
        """``PING`` on this backend's Redis client; raises when Redis does not answer."""
        await self.client.ping()

    async def close(self) -> None:
        """Stop the reader, delete the control stream, close an owned client."""
        self._positions.clear()
        self._subscribers.clear()
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
            self._reader = None
        await self.client.delete(self._control)
        if self._owns_client:
            await self.client.aclose()
