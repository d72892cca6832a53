"""portal.broker: a worker whose Redis connection was lost keeps running (real Redis)."""

import logging
import uuid

import pytest
import redis
from django.conf import settings
from kombu import Connection

pytestmark = pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis (REDIS_URL)")


@pytest.fixture
def received():
    """A message taken from a fresh queue and not yet acknowledged, as a worker holds one."""
    name = f"elevate-test-{uuid.uuid4().hex}"
    with Connection(settings.CELERY_BROKER_URL, transport="portal.broker:Transport") as connection:
        queue = connection.SimpleQueue(name)
        queue.put({"task": "anything"})
        yield queue.get(timeout=5)
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(name)


def _lose_the_connection(channel) -> None:
    """What kombu leaves after Redis went away: the channel closed and its client pool gone."""
    channel.close()
    channel._pool = None


@pytest.mark.parametrize("finish", ["ack", "reject", "requeue"])
def test_a_task_finishing_after_the_connection_was_lost_leaves_its_message_to_redis(received, finish, caplog):
    _lose_the_connection(received.channel)
    with caplog.at_level(logging.WARNING, logger="portal.broker"):
        received.ack() if finish == "ack" else received.reject(requeue=finish == "requeue")
    assert "Redis redelivers it" in caplog.text
    assert received.delivery_tag not in received.channel.qos._delivered


def test_a_message_acknowledged_on_a_live_connection_is_gone_from_redis(received):
    unacked_key = received.channel.unacked_key
    client = received.channel.client
    assert client.hexists(unacked_key, received.delivery_tag)
    received.ack()
    assert not client.hexists(unacked_key, received.delivery_tag)
