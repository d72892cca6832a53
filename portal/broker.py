"""The Redis transport, with one fix: a lost connection must not kill the worker.

With acks_late, a worker holds unacknowledged messages (running tasks, prefetched ETAs). When
Redis goes away, kombu closes the channel and tries to put them back, needs a client for that,
fails with AttributeError (not a connection error) and the worker exits ("Unrecoverable error").
A task still running then finishes after the reconnect and acknowledges its message on the
closed channel: the same AttributeError, the same exit.
Skipping that restore or acknowledgement loses nothing: Redis keeps its own unacked index and
redelivers after the visibility timeout (tasks are idempotent), and what a restarted Redis lost,
the sweep finds in the database.
"""

from __future__ import annotations

import logging

from kombu.transport import redis as kombu_redis

log = logging.getLogger(__name__)


def _lost_connection():
    return (AttributeError, kombu_redis.get_redis_ConnectionError(), OSError)


class QoS(kombu_redis.QoS):
    def restore_unacked(self, client=None):
        try:
            return super().restore_unacked(client)
        except _lost_connection() as exc:
            log.warning("broker connection lost; %d unacked message(s) left to Redis: %s", len(self._delivered), exc)
            self._delivered.clear()
            return None

    def ack(self, delivery_tag):
        try:
            return super().ack(delivery_tag)
        except _lost_connection() as exc:
            self._left_to_redis(delivery_tag, exc)

    def reject(self, delivery_tag, requeue=False):
        try:
            return super().reject(delivery_tag, requeue=requeue)
        except _lost_connection() as exc:
            self._left_to_redis(delivery_tag, exc)

    def _left_to_redis(self, delivery_tag, exc) -> None:
        log.warning("message %s finished on a lost broker connection; Redis redelivers it: %s", delivery_tag, exc)
        self._delivered.pop(delivery_tag, None)


class Channel(kombu_redis.Channel):
    QoS = QoS


class Transport(kombu_redis.Transport):
    Channel = Channel
