"""Channel message routes (create, list, fetch, edit, delete) and the CDN path serving attachments."""

from __future__ import annotations

from aiohttp import web

from playground.errors import ApiError, unknown
from playground.messages import create_message, edit_message
from playground.payloads import message_payload
from playground.rest.common import channel_of, core, json_response, read_body, snowflake
from playground.state import Message

routes = web.RouteTableDef()
MESSAGES = "/api/v10/channels/{channel_id}/messages"
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16


def _message(request: web.Request) -> Message:
    channel = channel_of(request)
    message = core(request).world.messages.get(snowflake(request, "message_id"))
    # Ephemeral messages are not reachable through the channel routes, only through the webhook.
    if message is None or message.channel_id != channel.id or message.ephemeral_for is not None:
        raise unknown("Message", 10008)
    return message


@routes.post(MESSAGES)
async def create(request: web.Request) -> web.Response:
    server = core(request)
    channel = channel_of(request)
    permissions = server.world.guild_of(channel).permissions_of(server.world.bot.id)
    if permissions & (VIEW_CHANNEL | SEND_MESSAGES) != VIEW_CHANNEL | SEND_MESSAGES:
        raise ApiError(403, 50013, "Missing Permissions")
    payload, uploads = await read_body(request)
    # Discord: files need Attach Files, and a reply needs Read Message History.
    if (uploads and not permissions & ATTACH_FILES) or (
            payload.get("message_reference") and not permissions & READ_MESSAGE_HISTORY):
        raise ApiError(403, 50013, "Missing Permissions")
    # A retry of a send that already succeeded (same nonce, enforce_nonce): Discord hands back that message.
    existing = server.nonces.existing(server.world, channel.id, server.world.bot.id, payload)
    if existing is None:
        existing = create_message(server.world, channel, server.world.bot, payload, uploads,
                                  size_limit=server.attachment_size_limit)
        server.nonces.remember(existing, payload)
    return json_response(message_payload(server.world, existing))


@routes.get(MESSAGES)
async def history(request: web.Request) -> web.Response:
    world = core(request).world
    channel = channel_of(request)
    limit = min(int(request.query.get("limit", 50)), 100)
    before = int(request.query.get("before", 0)) or None
    after = int(request.query.get("after", 0)) or None
    messages = [m for m in world.channel_messages(channel.id)
                if (before is None or m.id < before) and (after is None or m.id > after)]
    # Discord returns the newest first (unless paging with `after`).
    chosen = messages[:limit] if after else list(reversed(messages))[:limit]
    return json_response([message_payload(world, m) for m in chosen])


@routes.get(MESSAGES + "/{message_id}")
async def fetch(request: web.Request) -> web.Response:
    return json_response(message_payload(core(request).world, _message(request)))


@routes.patch(MESSAGES + "/{message_id}")
async def edit(request: web.Request) -> web.Response:
    server = core(request)
    message = _message(request)
    if message.author.id != server.world.bot.id:
        raise ApiError(403, 50005, "Cannot edit a message authored by another user")
    if not server.world.guild_of(channel_of(request)).permissions_of(server.world.bot.id) & VIEW_CHANNEL:
        raise ApiError(403, 50001, "Missing Access")
    payload, uploads = await read_body(request)
    edit_message(server.world, message, payload, uploads, size_limit=server.attachment_size_limit)
    return json_response(message_payload(server.world, message))


@routes.delete(MESSAGES + "/{message_id}")
async def delete(request: web.Request) -> web.Response:
    server = core(request)
    server.world.delete_message(_message(request))
    return web.Response(status=204)


@routes.get("/cdn/attachments/{channel_id}/{attachment_id}/{filename}")
async def attachment(request: web.Request) -> web.Response:
    found = core(request).world.attachments.get(snowflake(request, "attachment_id"))
    if found is None or found.filename != request.match_info["filename"]:
        raise web.HTTPNotFound()
    return web.Response(body=found.data, content_type=found.content_type or "application/octet-stream")
