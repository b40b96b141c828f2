"""Login and lookups: /users/@me, the application, the gateway URL, guilds and channels."""

from __future__ import annotations

from aiohttp import web

from playground.errors import unknown
from playground.payloads import channel_payload, guild_create_payload, member_payload, user_payload
from playground.rest.common import channel_of, core, json_response, snowflake

routes = web.RouteTableDef()


@routes.get("/api/v10/users/@me")
async def me(request: web.Request) -> web.Response:
    world = core(request).world
    return json_response(user_payload(world.bot) | {"verified": True, "mfa_enabled": False, "flags": 0})


def _application(request: web.Request) -> dict:
    world = core(request).world
    owner = world.users[world.default_guild.owner_id]
    return {
        "id": str(world.application_id), "name": world.bot.name, "description": "Midway playground bot",
        "icon": None, "bot_public": True, "bot_require_code_grant": False, "owner": user_payload(owner),
        "verify_key": "0" * 64, "flags": 0, "team": None, "interactions_endpoint_url": None,
        "bot": user_payload(world.bot), "rpc_origins": [], "approximate_guild_count": len(world.guilds),
    }


@routes.get("/api/v10/oauth2/applications/@me")
@routes.get("/api/v10/applications/@me")
async def application(request: web.Request) -> web.Response:
    return json_response(_application(request))


@routes.patch("/api/v10/applications/@me")
async def edit_application(request: web.Request) -> web.Response:
    return json_response(_application(request))


def _gateway_url(request: web.Request) -> str:
    return core(request).world.base_url.replace("http", "ws", 1) + "/gateway"


@routes.get("/api/v10/gateway")
async def gateway(request: web.Request) -> web.Response:
    return json_response({"url": _gateway_url(request)})


@routes.get("/api/v10/gateway/bot")
async def gateway_bot(request: web.Request) -> web.Response:
    limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
    shards = core(request).world.recommended_shards
    return json_response({"url": _gateway_url(request), "shards": shards, "session_start_limit": limit})


@routes.get("/api/v10/guilds/{guild_id}")
async def guild(request: web.Request) -> web.Response:
    world = core(request).world
    found = world.guilds.get(snowflake(request, "guild_id"))
    if found is None:
        raise unknown("Guild", 10004)
    return json_response(guild_create_payload(world, found))


@routes.get("/api/v10/guilds/{guild_id}/channels")
async def guild_channels(request: web.Request) -> web.Response:
    found = core(request).world.guilds.get(snowflake(request, "guild_id"))
    if found is None:
        raise unknown("Guild", 10004)
    return json_response([channel_payload(c) for c in found.channels.values()])


@routes.get("/api/v10/guilds/{guild_id}/members/{user_id}")
async def guild_member(request: web.Request) -> web.Response:
    world = core(request).world
    found = world.guilds.get(snowflake(request, "guild_id"))
    user_id = snowflake(request, "user_id")
    if found is None or user_id not in found.members:
        raise unknown("Member", 10007)
    return json_response(member_payload(found, world.users[user_id]))


@routes.get("/api/v10/channels/{channel_id}")
async def channel(request: web.Request) -> web.Response:
    return json_response(channel_payload(channel_of(request)))
