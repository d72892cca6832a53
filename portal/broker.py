"""The Redis transport, with one fix: a lost connection must not kill the worker.

With acks_late, a worker holds unacknowledged messages (running tasks, prefetched ETAs). When
Redis goes away, kombu closes the channel and tries to put them back, needs a client for that,
fails with AttributeError (not a connection error) and the worker exits ("Unrecoverable error").
Skipping that restore loses nothing: Redis keeps its own unacked index and redelivers after the
visibility timeout, and what a restarted Redis lost, the sweep finds in the database.
"""

from __future__ import annotations

import logging

from kombu.transport import redis as kombu_redis

log = logging.getLogger(__name__)


class QoS(kombu_redis.QoS):
    def restore_unacked(self, client=None):
        try:
            return super().restore_unacked(client)
        except (AttributeError, kombu_redis.get_redis_ConnectionError(), OSError) as exc:
            log.warning("broker connection lost; %d unacked message(s) left to Redis: %s", len(self._delivered), exc)
            self._delivered.clear()
            return None


class Channel(kombu_redis.Channel):
    QoS = QoS


class Transport(kombu_redis.Transport):
    Channel = Channel
