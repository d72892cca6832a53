"""portal.cache: one redis client per pool, shared by the threads of a web worker (real Redis)."""

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.core.cache import cache, caches

from portal.cache import RedisCache

pytestmark = pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis (REDIS_URL)")


def test_the_cache_is_portals_and_keeps_one_client():
    assert isinstance(caches["default"], RedisCache)
    client = cache._cache.get_client()
    assert cache._cache.get_client() is client
    assert cache._cache.get_client(write=True) is client  # one server: reads and writes share the pool


def test_threads_sharing_the_client_each_read_their_own_values():
    run = uuid.uuid4().hex

    def round_trip(n: int) -> bool:
        key = f"test-cache-{run}-{n}"
        cache.set(key, {"n": n}, 60)
        values = cache.get_many([key, f"test-cache-{run}-missing"])
        cache.delete(key)
        return values == {key: {"n": n}}

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(round_trip, range(200)))
