"""Django's Redis cache, keeping one redis client per connection pool.

Django's RedisCacheClient builds a new redis.Redis object for every cache call; its __init__
fills a table of ~170 response callbacks, about 0.1 ms, more than the GET itself on loopback
(the row cache reads on every list page). A redis.Redis is safe to share between threads: each
command takes a connection from the pool, which also notices a fork and starts afresh.
"""

from __future__ import annotations

from django.core.cache.backends import redis as django_redis


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient
