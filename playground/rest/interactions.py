"""Interaction routes: the callback (first response) and the webhook (followups, original response)."""

from __future__ import annotations

from aiohttp import web

from playground.messages import edit_message
from playground.payloads import message_payload
from playground.rest.common import core, json_response, read_body, snowflake

routes = web.RouteTableDef()
WEBHOOK = "/api/v10/webhooks/{webhook_id}/{webhook_token}"


@routes.post("/api/v10/interactions/{webhook_id}/{webhook_token}/callback")
async def callback(request: web.Request) -> web.Response:
    server = core(request)
    received_at = server.world.clock.now()
    payload, uploads = await read_body(request)
    body = server.desk.respond(snowflake(request, "webhook_id"), request.match_info["webhook_token"],
                               payload, uploads, received_at=received_at)
    # discord.py always asks with_response=1 and reads body["interaction"]["id"]; a bare 204 breaks it.
    if request.query.get("with_response", "").lower() in ("1", "true"):
        return json_response(body)
    return web.Response(status=204)


@routes.post(WEBHOOK)
async def followup(request: web.Request) -> web.Response:
    server = core(request)
    interaction = server.desk.by_token(snowflake(request, "webhook_id"), request.match_info["webhook_token"])
    payload, uploads = await read_body(request)
    message = server.desk.followup(interaction, payload, uploads)
    return json_response(message_payload(server.world, message))


@routes.get(WEBHOOK + "/messages/{message_id}")
async def fetch(request: web.Request) -> web.Response:
    server = core(request)
    interaction = server.desk.by_token(snowflake(request, "webhook_id"), request.match_info["webhook_token"])
    message = server.desk.message_of(interaction, request.match_info["message_id"])
    return json_response(message_payload(server.world, message))


@routes.patch(WEBHOOK + "/messages/{message_id}")
async def edit(request: web.Request) -> web.Response:
    server = core(request)
    interaction = server.desk.by_token(snowflake(request, "webhook_id"), request.match_info["webhook_token"])
    message = server.desk.message_of(interaction, request.match_info["message_id"])
    payload, uploads = await read_body(request)
    edit_message(server.world, message, payload, uploads, size_limit=server.attachment_size_limit)
    return json_response(message_payload(server.world, message))


@routes.delete(WEBHOOK + "/messages/{message_id}")
async def delete(request: web.Request) -> web.Response:
    server = core(request)
    interaction = server.desk.by_token(snowflake(request, "webhook_id"), request.match_info["webhook_token"])
    server.world.delete_message(server.desk.message_of(interaction, request.match_info["message_id"]))
    return web.Response(status=204)
