"""Application command routes: bulk overwrite (what `tree.sync()` sends), list, create, edit, delete."""

from __future__ import annotations

from aiohttp import web

from playground.command_validation import check_commands
from playground.errors import ApiError, unknown
from playground.rest.common import core, json_response, read_body, snowflake

routes = web.RouteTableDef()
GLOBAL = "/api/v10/applications/{application_id}/commands"
GUILD = "/api/v10/applications/{application_id}/guilds/{guild_id}/commands"


def _scope(request: web.Request) -> int | None:
    server = core(request)
    if snowflake(request, "application_id") != server.world.application_id:
        raise ApiError(403, 50001, "Missing Access")
    if "guild_id" not in request.match_info:
        return None
    guild_id = snowflake(request, "guild_id")
    if guild_id not in server.world.guilds:
        raise ApiError(403, 50001, "Missing Access")
    return guild_id


@routes.put(GLOBAL)
@routes.put(GUILD)
async def overwrite(request: web.Request) -> web.Response:
    scope = _scope(request)
    payload, _ = await read_body(request)
    check_commands(payload)
    commands = core(request).registry.overwrite(scope, payload)
    return json_response([c.payload() for c in commands])


@routes.get(GLOBAL)
@routes.get(GUILD)
async def list_commands(request: web.Request) -> web.Response:
    return json_response([c.payload() for c in core(request).registry.in_scope(_scope(request))])


@routes.post(GLOBAL)
@routes.post(GUILD)
async def create(request: web.Request) -> web.Response:
    scope = _scope(request)
    payload, _ = await read_body(request)
    registry = core(request).registry
    check_commands([*(c.data for c in registry.in_scope(scope) if c.name != payload.get("name")), payload])
    return json_response(registry.upsert(scope, payload).payload(), status=201)


@routes.get(GLOBAL + "/{command_id}")
@routes.get(GUILD + "/{command_id}")
async def fetch(request: web.Request) -> web.Response:
    command = core(request).registry.by_id(_scope(request), snowflake(request, "command_id"))
    if command is None:
        raise unknown("application command", 10063)
    return json_response(command.payload())


@routes.patch(GLOBAL + "/{command_id}")
@routes.patch(GUILD + "/{command_id}")
async def edit(request: web.Request) -> web.Response:
    scope = _scope(request)
    registry = core(request).registry
    command = registry.by_id(scope, snowflake(request, "command_id"))
    if command is None:
        raise unknown("application command", 10063)
    payload, _ = await read_body(request)
    data = command.data | payload
    check_commands([data])
    registry.delete(scope, command.id)
    updated = registry.upsert(scope, data)
    updated.id = command.id
    return json_response(updated.payload())


@routes.delete(GLOBAL + "/{command_id}")
@routes.delete(GUILD + "/{command_id}")
async def delete(request: web.Request) -> web.Response:
    if not core(request).registry.delete(_scope(request), snowflake(request, "command_id")):
        raise unknown("application command", 10063)
    return web.Response(status=204)
