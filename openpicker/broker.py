"""The embedded broker: kombu's SQLAlchemy transport, polled adaptively.

kombu's virtual transports (SQLAlchemy, filesystem) cannot block until a message arrives:
they poll, and sleep `polling_interval` after every empty poll. A fixed 0.1 s keeps a task's
queue wait short but wakes the worker ten times a second for ever, also when nothing happens;
kombu's default 1 s made two worker processes finish at most two conversions a second.

This transport polls every `polling_interval` (0.1 s) while messages come; once none has come
for `busy_for` seconds it sleeps longer and longer (a tenth of the time it has been idle), up
to `idle_polling_interval` (1 s). Each poll first asks, with one unlocked read, whether any
message is waiting at all, and goes through the queues only if one is. The price: the first
message after a quiet spell waits up to 1 s. openpicker/celery.py maps `sqla+` URLs here (in
every process; it only matters where a worker consumes). Redis as the broker
(CELERY_BROKER_URL=redis://...) blocks instead of polling: no such cost.
"""

from __future__ import annotations

from queue import Empty
from time import monotonic, sleep

from kombu.transport import sqlalchemy


class Transport(sqlalchemy.Transport):
    polling_interval = 0.1
    idle_polling_interval = 1.0
    busy_for = 2.0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.last_message = monotonic()

    def interval(self, now: float) -> float:
        """How long to sleep after an empty poll at `now`."""
        idle = now - self.last_message
        if idle < self.busy_for:
            return self.polling_interval
        return min(self.idle_polling_interval, max(self.polling_interval, idle / 10))

    def waiting(self) -> bool:
        """Whether any queue has a message: one unlocked read, where a poll of every queue
        costs a lookup, a write lock and a query per queue (kombu's Channel._get)."""
        if not self.channels:
            return True
        channel = self.channels[0]
        message = channel.message_cls
        try:
            return (
                channel.session.query(message.id).filter(message.visible.is_(True)).first()
                is not None
            )
        finally:
            channel.session.commit()

    def drain_events(self, connection, timeout=None):
        started = monotonic()
        while True:
            try:
                if not self.waiting():
                    raise Empty()
                self.cycle.get(self._deliver, timeout=timeout)
            except Empty:
                now = monotonic()
                if timeout is not None and now - started >= timeout:
                    raise TimeoutError() from None
                pause = self.interval(now)
                if timeout is not None:
                    pause = min(pause, max(0.0, timeout - (now - started)))
                sleep(pause)
            else:
                self.last_message = monotonic()
                return
