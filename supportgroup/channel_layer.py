"""channels-redis' layer with one reader per process (#11).

``channels_redis.core.RedisChannelLayer`` (4.3) already sends a group message once per
process: one Redis entry naming every channel of that process it is for. What costs is
how a process's consumers wait for it. Each consumer's ``receive()`` races two new tasks,
the process-wide receive lock and its own buffer; the lock's holder pops one entry and
fills the buffers, and every other waiter's lock task is cancelled (a linear search of
the lock's waiters) and made again. A fan-out to N sockets in one process costs work in
proportion to N² (P1, P7 and P4's profiles in docs/performance.md: the layer's
``receive`` and the task churn around it were most of the server's time at 1,000 sockets).

Here one reader task per event loop pops the process's entries and puts each in the
buffers of the channels it names; a consumer's ``receive()`` waits on its own buffer and
nothing else. Everything else is channels-redis' own: group membership, one entry per
process per ``group_send``, capacity and expiry, the in-flight backup queue that keeps a
popped entry safe, sharding. Channels without "!" (not process-local) are received as
before.

A channel keeps one buffer while its consumer lives (the stock layer makes one per
message). Our consumers close their channel when they end (``close_channel``, from
``supportgroup.realtime.LiveConsumer``): its buffer goes, and messages still on their way
to it are dropped rather than kept in a buffer nobody reads (the stock layer keeps up to
``capacity`` of them per ended socket); receiving on that channel again opens it again.
A receive that stops waiting (a timeout) leaves what comes after for the next one.

Failure works as before: if reading from Redis fails, every receiver waiting in this
process gets the error (channels ends their consumers; the browsers reconnect and catch
up on the event numbers), and the next ``receive()`` starts a new reader.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time

from channels_redis.core import ChannelLock, RedisChannelLayer
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


class _Failed:
    """Put in a waiting receiver's buffer when the reader could not read."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


class ReaderRedisChannelLayer(RedisChannelLayer):
    """``RedisChannelLayer`` whose process-local channels are read by one task per process."""

    # Seconds the reader keeps reading after the last receiver stopped waiting: a consumer
    # handling a message is not waiting, and the reader should not stop and start again
    # for each message of a process with one socket.
    reader_idle = 1.0

    # Channels closed by their consumer (``close_channel``) are remembered, up to this many,
    # so that messages still in flight to them are dropped instead of filling a buffer
    # nobody reads (the stock layer keeps them: up to ``capacity`` per ended socket).
    closed_kept = 10_000
    # Entries in a row that cannot be decoded before the reader gives up as on a failure.
    unreadable_in_a_row = 3

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._waiting: dict[str, int] = {}  # channel -> receivers waiting on it now
        self._closed: dict[str, None] = {}  # ended channels, oldest first
        self._reader: asyncio.Task | None = None
        self._idle_stop: asyncio.TimerHandle | None = None

    async def receive(self, channel):
        if "!" not in channel:
            return await super().receive(channel)
        assert self.require_valid_channel_name(channel)
        real_channel = self.non_local_name(channel)
        assert real_channel.endswith(self.client_prefix + "!"), "Wrong client prefix"
        self._start_reader(real_channel)
        if self._closed:
            self._closed.pop(channel, None)  # receiving on it again opens it again
        # A channel keeps its buffer between messages (the stock layer makes one per message).
        buffer = self.receive_buffer[channel]
        if buffer.empty():
            self._waiting[channel] = self._waiting.get(channel, 0) + 1
            try:
                item = await buffer.get()
            except asyncio.CancelledError:
                # As the stock layer: an empty buffer nobody waits on goes; what arrives
                # later waits for the next receive (a consumer's end closes the channel).
                if self._waiting[channel] == 1 and buffer.empty():
                    self.receive_buffer.pop(channel, None)
                raise
            finally:
                self._stop_waiting(channel)
        else:
            item = buffer.get_nowait()
            self._idle_soon()
        if isinstance(item, _Failed):
            raise item.error
        return item

    # --- Several groups at once (a socket joins three or four when it opens) -----------------

    def _keys_by_host(self, groups) -> dict[int, list[bytes]]:
        by_host: dict[int, list[bytes]] = collections.defaultdict(list)
        for group in groups:
            assert self.require_valid_group_name(group), "Group name not valid"
            by_host[self.consistent_hash(group)].append(self._group_key(group))
        return by_host

    async def group_add_many(self, groups, channel) -> None:
        """``group_add`` for each of ``groups``: one round trip per Redis host, not two per group."""
        assert self.require_valid_channel_name(channel), "Channel name not valid"
        now = time.time()
        for index, keys in self._keys_by_host(groups).items():
            pipe = self.connection(index).pipeline(transaction=False)
            for key in keys:
                pipe.zadd(key, {channel: now})
                pipe.expire(key, self.group_expiry)
            await pipe.execute()

    async def group_discard_many(self, groups, channel) -> None:
        """``group_discard`` for each of ``groups``: one round trip per Redis host."""
        assert self.require_valid_channel_name(channel), "Channel name not valid"
        for index, keys in self._keys_by_host(groups).items():
            pipe = self.connection(index).pipeline(transaction=False)
            for key in keys:
                pipe.zrem(key, channel)
            await pipe.execute()

    # --- Receiving ---------------------------------------------------------------------------

    def close_channel(self, channel: str) -> None:
        """The consumer of ``channel`` has ended (``supportgroup.realtime.LiveConsumer``):
        its buffer goes, and what is still on its way to it is dropped."""
        if "!" not in channel:
            return
        self.receive_buffer.pop(channel, None)
        self._closed[channel] = None
        if len(self._closed) > self.closed_kept:
            del self._closed[next(iter(self._closed))]

    def _stop_waiting(self, channel: str) -> None:
        left = self._waiting[channel] - 1
        if left:
            self._waiting[channel] = left
            return
        del self._waiting[channel]
        self._idle_soon()

    def _idle_soon(self) -> None:
        """Nobody waits: stop the reader after ``reader_idle`` unless somebody comes back."""
        if not self._waiting and self._reader is not None and self._idle_stop is None:
            loop = self._reader.get_loop()
            if not loop.is_closed():
                self._idle_stop = loop.call_later(self.reader_idle, self._stop_if_idle)

    def _stop_if_idle(self) -> None:
        self._idle_stop = None
        if not self._waiting and self._reader is not None:
            # Not quite safe: if Redis hands over an entry in the instant of the cancel, it
            # is lost before it reaches the in-flight backup (channels-redis' own reader
            # has the same window when a consumer holding its lock is cancelled). Only a
            # process whose every socket stayed busy for ``reader_idle`` gets here; a lost
            # live event is caught up on its number. A cooperative stop would close it.
            self._reader.cancel()
            self._reader = None

    def _start_reader(self, real_channel: str) -> None:
        loop = asyncio.get_running_loop()
        if self._idle_stop is not None:
            self._idle_stop.cancel()
            self._idle_stop = None
        reader = self._reader
        if reader is not None and not reader.done():
            if reader.get_loop() is loop:
                return
            if reader.get_loop().is_running():
                raise RuntimeError(
                    "Two event loops are trying to receive() on one channel layer at once!"
                )
            # The old loop stopped with its reader pending (a test's loop, a thread's):
            # whatever waited there will never run again, and its buffers belong to it.
            self._waiting = {}
            self._closed = {}
            self.receive_buffer.clear()
            self.receive_clean_locks = ChannelLock()  # the old reader may hold one for good
            self.receive_cleaners = []
        self._reader = loop.create_task(self._read(real_channel))

    async def _read(self, real_channel: str) -> None:
        unreadable = 0
        try:
            while True:
                try:
                    target, message = await self.receive_single(real_channel)
                except (TimeoutError, RedisError, OSError):
                    raise
                except Exception as error:
                    # One entry that cannot be decoded must not end every socket.
                    unreadable += 1
                    logger.warning(
                        "channel layer: dropped an entry that could not be read (%s)",
                        error.__class__.__name__,
                    )
                    if unreadable >= self.unreadable_in_a_row:
                        raise
                    continue
                unreadable = 0
                # No await from here to the next pop: each message reaches the buffers
                # of the channels it names, in the order Redis gave them.
                for channel in target if isinstance(target, list) else [target]:
                    if channel not in self._closed:
                        self.receive_buffer[channel].put_nowait(message)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - handed to every receiver waiting now
            logger.warning(
                "channel layer read failed (%s); %d receiver(s) told",
                error.__class__.__name__,
                sum(self._waiting.values()),
            )
            for channel, count in list(self._waiting.items()):
                for _ in range(count):  # one each: two receivers on a channel both hear
                    self.receive_buffer[channel].put_nowait(_Failed(error))
        finally:
            if self._reader is asyncio.current_task():
                self._reader = None
