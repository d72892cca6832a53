"""The Redis transport, with one fix: a message finished on a *closed* channel must not kill
the worker.

With acks_late a worker holds unacknowledged messages. When Redis goes away, kombu closes the
channel (dropping its client pool) and then tries to put those messages back through it; a task
still running finishes after the reconnect and acknowledges on the same closed channel. Both
reach for the vanished pool and raise AttributeError, not a connection error, and the worker
exits ("Unrecoverable error"). Upstream: https://github.com/celery/kombu/issues/970 (the same
AttributeError from restore_unacked on a closed channel). kombu is pinned to its minor version
in pyproject.toml, so an upgrade that changes this path is a deliberate one.

Only that case is handled: AttributeError on a channel kombu has marked closed. The message is
then left to Redis, which keeps its own unacked index and redelivers after the visibility
timeout (tasks are idempotent); what a restarted Redis lost, the sweep finds in the database.
Anything else (an error on an open channel) is kombu's and Celery's to handle as usual.
"""

from __future__ import annotations

import logging

from kombu.transport import redis as kombu_redis
from kombu.transport import virtual

log = logging.getLogger(__name__)


class QoS(kombu_redis.QoS):
    def restore_unacked(self, client=None):
        try:
            return super().restore_unacked(client)
        except AttributeError as exc:
            if not self.channel.closed:
                raise
            log.warning("broker channel closed: unacked messages are left to Redis to redeliver (%s)", exc)
            return None

    def ack(self, delivery_tag):
        try:
            return super().ack(delivery_tag)
        except AttributeError as exc:
            self._left_to_redis(delivery_tag, exc)

    def reject(self, delivery_tag, requeue=False):
        try:
            return super().reject(delivery_tag, requeue=requeue)
        except AttributeError as exc:
            self._left_to_redis(delivery_tag, exc)

    def _left_to_redis(self, delivery_tag, exc: AttributeError) -> None:
        if not self.channel.closed:
            raise exc
        log.warning("message %s finished on a closed broker channel; Redis redelivers it (%s)", delivery_tag, exc)
        virtual.QoS.ack(self, delivery_tag)  # done here; its entry in Redis's unacked index stays


class Channel(kombu_redis.Channel):
    QoS = QoS


class Transport(kombu_redis.Transport):
    Channel = Channel
