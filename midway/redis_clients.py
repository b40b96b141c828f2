"""Options for the Redis connections Midway opens.

redis-py (7.1 and later) resolves the driver metadata it sends with CLIENT SETINFO for every new
connection, parsing its own package metadata through importlib.metadata each time: ~1-2 ms of Python.
A burst of button presses grows the bot's pool towards its 64 connections, and paid that on the event
loop once per connection (bench/ack_load.py's press burst: 15% of the loop's time). The same metadata,
made once, is passed instead.
"""

from __future__ import annotations

from typing import Any

import redis


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
