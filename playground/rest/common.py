"""Helpers every REST route uses: exact JSON responses, request bodies, the core, snowflake params."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from playground.errors import ApiError, unknown
from playground.messages import Upload
from playground.state import Channel

if TYPE_CHECKING:
    from playground.server import PlaygroundServer

CORE: web.AppKey[PlaygroundServer] = web.AppKey("playground_core")
# What the bot sent, kept on the request for the middleware's log.
PAYLOAD: web.RequestKey[Any] = web.RequestKey("payload", object)
FILES: web.RequestKey[list[str]] = web.RequestKey("files", list)


def json_response(data: Any, status: int = 200) -> web.Response:
    # Not web.json_response: its "application/json; charset=utf-8" makes discord.py's json_or_text()
    # return a str (it compares the header to exactly "application/json").
    return web.Response(body=json.dumps(data).encode(), status=status, content_type="application/json")


def core(request: web.Request) -> PlaygroundServer:
    return request.app[CORE]


async def read_body(request: web.Request) -> tuple[dict[str, Any], list[Upload]]:
    """JSON, or multipart with `payload_json` and raw `files[n]` field names (as discord.py sends)."""
    uploads: list[Upload] = []
    payload: Any = {}
    if request.content_type.startswith("multipart/"):
        reader = await request.multipart()
        async for part in reader:
            name = getattr(part, "name", None) or ""
            if name == "payload_json":
                payload = json.loads(await part.text())  # type: ignore[union-attr]
            elif name.startswith("files[") and name.endswith("]"):
                data = bytes(await part.read())  # type: ignore[union-attr]
                uploads.append(Upload(int(name[6:-1]), part.filename or name, data,  # type: ignore[union-attr]
                                      part.headers.get("Content-Type")))
    elif request.can_read_body:
        try:
            payload = json.loads(await request.text())
        except json.JSONDecodeError:
            raise ApiError(400, 50109, "The request body contains invalid JSON.") from None
    # The middleware records what the bot sent.
    request[PAYLOAD] = payload
    request[FILES] = [u.filename for u in uploads]
    return payload, uploads


def snowflake(request: web.Request, name: str) -> int:
    try:
        return int(request.match_info[name])
    except ValueError:
        raise ApiError(400, 50035, "Invalid Form Body", {
            name: {"_errors": [{"code": "NUMBER_TYPE_COERCE", "message": "Value is not snowflake."}]}
        }) from None


def channel_of(request: web.Request) -> Channel:
    channel = core(request).world.channels.get(snowflake(request, "channel_id"))
    if channel is None:
        raise unknown("Channel", 10003)
    return channel
