"""REDIS_URL, read: one Redis (`redis://`, `rediss://`, `unix://`) or a Sentinel set that names the primary.

A Sentinel URL lists the sentinels, then the name of the primary they watch, then the database:

    redis+sentinel://[[user]:password@]host[:port][,host2[:port]...]/service_name[/db][?options]
    rediss+sentinel://...  (TLS to the sentinels and to the primary)

The password is the data nodes' (the primary's and its replicas' `requirepass`); the sentinels' own,
when they have one (`requirepass` in sentinel.conf), goes in `?sentinel_password=`. Every other query
option is redis-py's own (`socket_timeout=`, `ssl_cert_reqs=none`...), as in a plain URL. A sentinel
without a port listens on 26379, Sentinel's default.

Errors never echo the URL: it may hold a password (midway.redis_clients.redacted_url shows it safely).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

from redis.connection import parse_url

SENTINEL_SCHEMES = {"redis+sentinel": False, "rediss+sentinel": True}  # scheme -> TLS
DEFAULT_SENTINEL_PORT = 26379


@dataclass(frozen=True)
class SentinelTarget:
    """Where a Sentinel URL points: the sentinels, the primary's name, how to talk to both."""

    sentinels: list[tuple[str, int]]
    service_name: str
    # For the primary's connections: db, username, password, ssl and redis-py's query options.
    connection_kwargs: dict[str, Any] = field(default_factory=dict)
    # For the sentinels' connections: their own password, and TLS when the primary has it.
    sentinel_kwargs: dict[str, Any] = field(default_factory=dict)


def is_sentinel_url(url: str) -> bool:
    return url.partition("://")[0].lower() in SENTINEL_SCHEMES


def parse_sentinel_url(url: str) -> SentinelTarget:
    """The parts of a `redis+sentinel://` URL; ValueError (never quoting the URL) when it is not one."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in SENTINEL_SCHEMES:
        raise ValueError("a Sentinel URL starts with redis+sentinel:// or rediss+sentinel://")
    tls = SENTINEL_SCHEMES[scheme.lower()]
    rest, _, query = rest.partition("?")
    # Up to the last @: a password may hold an unescaped /.
    userinfo, at, hosts_and_path = rest.rpartition("@")
    hosts, _, path = hosts_and_path.partition("/")
    sentinels = [_host_port(part) for part in hosts.split(",") if part.strip()]
    if not sentinels:
        raise ValueError("a Sentinel URL names at least one sentinel: redis+sentinel://host:26379/mymaster/0")
    service_name, _, db = path.strip("/").partition("/")
    if not service_name:
        raise ValueError("a Sentinel URL names the primary after the sentinels: redis+sentinel://host:26379/mymaster/0")
    if db and not db.isdigit():
        raise ValueError("the database of a Sentinel URL, after the primary's name, must be a number")
    options = dict(parse_qsl(query, keep_blank_values=True))
    sentinel_password = options.pop("sentinel_password", None)
    # redis-py reads the rest (user, password, db, TLS and its query options) as for one server.
    plain = f"{'rediss' if tls else 'redis'}://{userinfo}{at}sentinel/{db or 0}"
    if options:
        plain += f"?{urlencode(options)}"
    connection_kwargs = parse_url(plain)
    for where in ("host", "port", "connection_class"):
        connection_kwargs.pop(where, None)
    if tls:
        # Not redis-py's SSLConnection (which parse_url names): the Sentinel pool picks its own
        # Sentinel-managed TLS connection from `ssl`, and one that asks the sentinels where to connect.
        connection_kwargs["ssl"] = True
    sentinel_kwargs: dict[str, Any] = {}
    if sentinel_password:
        sentinel_kwargs["password"] = unquote(sentinel_password)
    if tls:
        sentinel_kwargs.update({key: value for key, value in connection_kwargs.items() if key.startswith("ssl")})
    return SentinelTarget(sentinels, unquote(service_name), connection_kwargs, sentinel_kwargs)


def _host_port(part: str) -> tuple[str, int]:
    part = part.strip()
    if part.startswith("["):  # [IPv6]:port
        host, _, port = part[1:].partition("]")
        port = port.lstrip(":")
    else:
        host, _, port = part.rpartition(":") if ":" in part else (part, "", "")
    if not host:
        raise ValueError("a sentinel in a Sentinel URL has no host name")
    if port and not port.isdigit():
        raise ValueError(f"a sentinel's port must be a number, not {port!r}")
    return unquote(host), int(port) if port else DEFAULT_SENTINEL_PORT
