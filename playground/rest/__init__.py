"""The REST API under /api/v10, one module per area."""

from __future__ import annotations

from aiohttp import web

from playground.rest import commands, interactions, messages, session


def add_routes(app: web.Application) -> None:
    for module in (session, commands, messages, interactions):
        app.add_routes(module.routes)
