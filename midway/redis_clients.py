"""Options for the Redis connections Midway opens.

redis-py (7.1 and later) resolves the driver metadata it sends with CLIENT SETINFO for every new
connection, parsing its own package metadata through importlib.metadata each time: ~1-2 ms of Python.
A burst of button presses grows the bot's pool towards its 64 connections, and paid that on the event
loop once per connection (bench/ack_load.py's press burst: 15% of the loop's time). The same metadata,
made once, is passed instead.

Every process builds its clients here, from REDIS_URL (`sync_redis`, `async_redis`): a plain URL gives
a client of that server, a Sentinel URL (midway/redis_urls.py) one that asks the sentinels for the
primary at every new connection, so after a failover the next command reaches the promoted replica.

Commands check Redis up front (`redis_problem`) and name it in messages through `redacted_url`: a
password in REDIS_URL never reaches a log line or the terminal.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

import redis
import redis.asyncio as aioredis
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.asyncio.sentinel import SentinelConnectionPool as AsyncSentinelPool
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

from midway.redis_urls import SentinelTarget, is_sentinel_url, parse_sentinel_url

# redis-py also reads a password from the query string.
_PASSWORD_QUERY = re.compile(r"(?i)((?:^|[?&])[^=&#]*password=)[^&#]*")
_HIDE_VALUE = r"\1***"


def _driver_info() -> Any:
    try:
        from redis.driver_info import DriverInfo
    except ImportError:  # older redis-py computes its version once, at import
        return None
    return DriverInfo(lib_version=redis.__version__)


_DRIVER_INFO = _driver_info()


def connection_options() -> dict[str, Any]:
    """Keyword arguments for `from_url` / a connection pool: the resolved driver metadata, if any."""
    return {} if _DRIVER_INFO is None else {"driver_info": _DRIVER_INFO}


class _BlockingSentinelPool(AsyncSentinelPool, aioredis.BlockingConnectionPool):
    """A Sentinel-managed pool that waits for a free connection, as the bot's plain pool does."""


def sync_redis(url: str, **options: Any) -> redis.Redis:
    """A client of the Redis that `url` names (its primary, for a Sentinel URL); `options` as for from_url.

    Bytes unless decode_responses=True is passed: RQ reads bytes."""
    options = {**connection_options(), **options}
    if not is_sentinel_url(url):
        return redis.Redis.from_url(url, **options)
    target = parse_sentinel_url(url)
    sentinel = Sentinel(target.sentinels, sentinel_kwargs=_sentinel_kwargs(target, options))
    return sentinel.master_for(target.service_name, **{**target.connection_kwargs, **options})


def async_redis(url: str, *, max_connections: int, timeout: float, **options: Any) -> aioredis.Redis:
    """An asyncio client of the Redis that `url` names, over a pool of at most `max_connections` that
    waits up to `timeout` for a free one (a burst waits instead of failing with "Too many connections")."""
    options = {**connection_options(), **options}
    if not is_sentinel_url(url):
        pool = aioredis.BlockingConnectionPool.from_url(url, max_connections=max_connections, timeout=timeout,
                                                        **options)
        return aioredis.Redis(connection_pool=pool)
    target = parse_sentinel_url(url)
    sentinel = AsyncSentinel(target.sentinels, sentinel_kwargs=_sentinel_kwargs(target, options))
    return sentinel.master_for(target.service_name, connection_pool_class=_BlockingSentinelPool,
                               max_connections=max_connections, timeout=timeout,
                               **{**target.connection_kwargs, **options})


def _sentinel_kwargs(target: SentinelTarget, options: dict[str, Any]) -> dict[str, Any]:
    """The sentinels' connections: the URL's sentinel password and TLS, the caller's socket timeouts."""
    timeouts = {key: value for key, value in options.items() if key.startswith("socket_")}
    return {**timeouts, **target.sentinel_kwargs}


def close_client(client: redis.Redis) -> None:
    """Close `client` and, for a Sentinel client, its connections to the sentinels (a short-lived check)."""
    client.close()
    manager = getattr(client.connection_pool, "sentinel_manager", None)
    if manager is not None:
        manager.close()


def redacted_url(url: str) -> str:
    """`url` for messages and logs: its password, and any password= query value, shown as ***."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return _PASSWORD_QUERY.sub(_HIDE_VALUE, url)
    userinfo, at, host = rest.rpartition("@")
    if at:
        # Up to the last @, as a password may hold an unescaped / or ?. A userinfo without a colon is
        # the password alone for most Redis clients: all of it is hidden then.
        user, colon, _ = userinfo.partition(":")
        rest = f"{user}:***@{host}" if colon and not set("/?#") & set(user) else f"***@{host}"
    return f"{scheme}://{_PASSWORD_QUERY.sub(_HIDE_VALUE, rest)}"


def _secrets(url: str) -> set[str]:
    """The password-like parts of `url`, raw and decoded, to scrub from library error texts."""
    found = {match.group(0).split("=", 1)[1] for match in _PASSWORD_QUERY.finditer(url)}
    userinfo, at, _ = url.partition("://")[2].rpartition("@")
    if at:
        user, colon, password = userinfo.partition(":")
        found.add(password if colon and not set("/?#") & set(user) else userinfo)
    return {text for secret in found if secret for text in (secret, unquote(secret))}


def redis_problem(url: str, *, timeout_s: float = 3.0) -> str | None:
    """Why Redis at `url` cannot be used (one PING, `timeout_s` at most), or None when it answers.

    The reason is one line, safe to print: the URL's password is redacted."""
    try:
        client = sync_redis(url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s,
                            retry=Retry(NoBackoff(), 0))
    except ValueError as error:
        # Not echoed: without a scheme nothing marks which part of it is a password.
        return (f"REDIS_URL is not a Redis URL ({without_secrets(str(error), url)}); expected e.g. "
                "redis://127.0.0.1:6379/0 or redis+sentinel://host:26379/mymaster/0")
    try:
        client.ping()
    except redis.AuthenticationError as error:
        if not _secrets(url):
            return (f"Redis at {redacted_url(url)} requires a password, and REDIS_URL has none: "
                    "redis://:<password>@host:6379/0")
        return (f"Redis at {redacted_url(url)} refused the password in REDIS_URL "
                f"({without_secrets(str(error), url)})")
    except (redis.RedisError, OSError) as error:
        return f"cannot reach Redis at {redacted_url(url)}: {without_secrets(str(error), url)}"
    finally:
        close_client(client)
    return None


def without_secrets(text: str, url: str) -> str:
    """`text` (a library's error message) on one line, with any password from `url` shown as ***."""
    for secret in sorted(_secrets(url), key=len, reverse=True):
        text = text.replace(secret, "***")
    return " ".join(text.split()) or "no reason given"


def reply_text(value: bytes | str) -> str:
    """A Redis reply as text: clients made without `decode_responses` (RQ needs bytes) answer in bytes."""
    return value.decode() if isinstance(value, bytes) else value
