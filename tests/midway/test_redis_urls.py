"""REDIS_URL as a Sentinel set or one server: what each part means, and no password in any message."""

from __future__ import annotations

import pytest
import redis
from redis.sentinel import SentinelConnectionPool, SentinelManagedSSLConnection

from midway.redis_clients import async_redis, redacted_url, redis_problem, sync_redis
from midway.redis_urls import is_sentinel_url, parse_sentinel_url
from ops.redis_server import free_port

PASSWORD = "s3cret-p@ss"


def test_a_sentinel_url_names_its_sentinels_primary_database_and_passwords():
    target = parse_sentinel_url("redis+sentinel://:pw%2Fx@10.0.0.1:26380,sentinel-b,[::1]:5000/mymaster/3"
                                "?sentinel_password=sp&socket_timeout=2")
    assert target.sentinels == [("10.0.0.1", 26380), ("sentinel-b", 26379), ("::1", 5000)]
    assert target.service_name == "mymaster"
    assert target.connection_kwargs["db"] == 3
    assert target.connection_kwargs["password"] == "pw/x"
    assert target.connection_kwargs["socket_timeout"] == 2.0
    assert "host" not in target.connection_kwargs and "ssl" not in target.connection_kwargs
    assert target.sentinel_kwargs == {"password": "sp"}


def test_a_sentinel_url_without_a_database_uses_0_and_a_user_is_kept():
    target = parse_sentinel_url("redis+sentinel://midway:pw@h1:1,h2:2/cache")
    assert (target.service_name, target.connection_kwargs["db"]) == ("cache", 0)
    assert (target.connection_kwargs["username"], target.connection_kwargs["password"]) == ("midway", "pw")
    assert target.sentinel_kwargs == {}


def test_rediss_sentinel_speaks_tls_to_the_primary_and_to_the_sentinels():
    target = parse_sentinel_url("rediss+sentinel://h1:26379/mymaster/0?ssl_cert_reqs=none")
    assert target.connection_kwargs["ssl"] is True and target.sentinel_kwargs["ssl"] is True
    assert target.connection_kwargs["ssl_cert_reqs"] == "none"
    assert target.sentinel_kwargs["ssl_cert_reqs"] == "none"
    # The client redis-py builds from it opens Sentinel-managed TLS connections.
    client = sync_redis("rediss+sentinel://h1:26379/mymaster/0")
    assert isinstance(client.connection_pool, SentinelConnectionPool)
    assert client.connection_pool.connection_class is SentinelManagedSSLConnection


@pytest.mark.parametrize("url", [
    "redis+sentinel:///mymaster/0",
    f"redis+sentinel://:{PASSWORD}@h1:26379",
    f"redis+sentinel://:{PASSWORD}@h1:26379/mymaster/zero",
    f"redis+sentinel://:{PASSWORD}@h1:port/mymaster/0",
])
def test_a_broken_sentinel_url_is_a_clear_error_without_its_password(url):
    with pytest.raises(ValueError) as raised:
        parse_sentinel_url(url)
    assert PASSWORD not in str(raised.value)
    problem = redis_problem(url)
    assert problem is not None and problem.startswith("REDIS_URL is not a Redis URL") and PASSWORD not in problem


def test_plain_urls_still_make_plain_clients():
    assert not is_sentinel_url("redis://:pw@127.0.0.1:6379/0") and is_sentinel_url("REDIS+SENTINEL://h/m")
    client = sync_redis("rediss://:pw@example.invalid:6380/2")
    assert not isinstance(client.connection_pool, SentinelConnectionPool)
    assert client.connection_pool.connection_kwargs["db"] == 2
    assert client.connection_pool.connection_class is redis.SSLConnection


def test_an_async_client_of_a_sentinel_set_waits_for_a_free_connection():
    import redis.asyncio as aioredis

    client = async_redis("redis+sentinel://h1:26379/mymaster/0", max_connections=7, timeout=3)
    assert isinstance(client.connection_pool, aioredis.BlockingConnectionPool)
    assert client.connection_pool.max_connections == 7 and client.connection_pool.timeout == 3


def test_a_sentinel_url_is_shown_with_both_passwords_hidden():
    url = "redis+sentinel://:pw@h1:26379,h2:26379/mymaster/0?sentinel_password=sentinel-pw"
    assert redacted_url(url) == "redis+sentinel://:***@h1:26379,h2:26379/mymaster/0?sentinel_password=***"


def test_sentinels_that_do_not_answer_are_one_line_naming_the_url_without_its_password():
    url = f"redis+sentinel://:{PASSWORD}@127.0.0.1:{free_port()}/mymaster/0"
    problem = redis_problem(url, timeout_s=0.5)
    assert problem is not None and "cannot reach Redis at redis+sentinel://:***@127.0.0.1:" in problem
    assert PASSWORD not in problem and "\n" not in problem
