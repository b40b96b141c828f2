"""Options for the Redis connections Midway opens.

redis-py (7.1 and later) resolves the driver metadata it sends with CLIENT SETINFO for every new
connection, parsing its own package metadata through importlib.metadata each time: ~1-2 ms of Python.
A burst of button presses grows the bot's pool towards its 64 connections, and paid that on the event
loop once per connection (bench/ack_load.py's press burst: 15% of the loop's time). The same metadata,
made once, is passed instead.

Commands check Redis up front (`redis_problem`) and name it in messages through `redacted_url`: a
password in REDIS_URL never reaches a log line or the terminal.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

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
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s,
                                      retry=Retry(NoBackoff(), 0), **connection_options())
    except ValueError as error:
        # Not echoed: without a scheme nothing marks which part of it is a password.
        return f"REDIS_URL is not a Redis URL ({without_secrets(str(error), url)}); expected e.g. redis://127.0.0.1:6379/0"
    try:
        client.ping()
    except (redis.RedisError, OSError) as error:
        return f"cannot reach Redis at {redacted_url(url)}: {without_secrets(str(error), url)}"
    finally:
        client.close()
    return None


def without_secrets(text: str, url: str) -> str:
    """`text` (a library's error message) on one line, with any password from `url` shown as ***."""
    for secret in sorted(_secrets(url), key=len, reverse=True):
        text = text.replace(secret, "***")
    return " ".join(text.split()) or "no reason given"


def reply_text(value: bytes | str) -> str:
    """A Redis reply as text: clients made without `decode_responses` (RQ needs bytes) answer in bytes."""
    return value.decode() if isinstance(value, bytes) else value
