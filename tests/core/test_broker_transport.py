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


@pytest.mark.parametrize("finish", ["ack", "reject", "requeue"])
def test_a_task_finishing_on_a_closed_channel_leaves_its_message_to_redis(received, finish, caplog):
    unacked_key, tag = received.channel.unacked_key, received.delivery_tag
    received.channel.close()
    # What kombu leaves when Redis went away: the channel closed, its connection and client pool
    # gone (the pool is dropped on close; here the restore at close made a new one, so drop it).
    received.channel._pool = None
    with caplog.at_level(logging.WARNING, logger="portal.broker"):
        received.ack() if finish == "ack" else received.reject(requeue=finish == "requeue")
    assert "Redis redelivers it" in caplog.text
    # Not lost: back in its queue (restored at close) or still in Redis's unacked index.
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    assert broker.llen(received.delivery_info["routing_key"]) + broker.hexists(unacked_key, tag) == 1


def test_an_error_on_an_open_channel_is_not_swallowed(received, monkeypatch):
    def broken(*args, **kwargs):
        raise AttributeError("a bug, not a closed channel")

    monkeypatch.setattr(received.channel.qos, "pipe_or_acquire", broken)
    with pytest.raises(AttributeError, match="a bug"):
        received.ack()


def test_a_message_acknowledged_on_a_live_connection_is_gone_from_redis(received):
    unacked_key = received.channel.unacked_key
    client = received.channel.client
    assert client.hexists(unacked_key, received.delivery_tag)
    received.ack()
    assert not client.hexists(unacked_key, received.delivery_tag)
