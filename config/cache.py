"""Django's Redis cache, with one client per connection pool instead of one per call.

Django's RedisCacheClient makes a new redis.Redis object for every cache call, and each sets up
its table of response callbacks (about 0.15 ms); a signed-in page makes two calls (its session,
the integrity line's evidence). A redis.Redis object is safe to share between threads: it
takes a connection from its pool for each command.
"""

from django.core.cache.backends import redis


class RedisCacheClient(redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
