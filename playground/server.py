"""The emulator's aiohttp application: REST under /api/v10, the gateway at /gateway, the CDN.

`PlaygroundServer` holds the parts (world, commands, interactions, gateway, rate limits) and the log
of every REST request the bot made. One middleware does what Discord's edge does for every request:
authenticate, rate-limit (with the real headers), turn `ApiError`s into Discord's error bodies, and
record the exchange.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from midway import discord_limits as limits
from playground import rest
from playground.app_commands import CommandRegistry
from playground.errors import UNAUTHORIZED, ApiError
from playground.gateway import Gateway
from playground.interactions import InteractionDesk
from playground.nonces import DEFAULT_WINDOW_S, NonceRegistry
from playground.ratelimit import RateLimiter
from playground.rest.common import CORE, FILES, PAYLOAD, json_response
from playground.state import World, default_world

API = "/api/v10"
# Interaction callbacks and webhook calls are authenticated by the token in their path.
TOKEN_IN_PATH = (f"{API}/interactions/", f"{API}/webhooks/")


@dataclass
class RecordedRequest:
    """One REST request the bot made, as the tests inspect it."""

    method: str
    path: str
    route: str  # "POST /channels/{channel_id}/messages": the key rate-limit buckets use
    status: int
    json: Any = None
    files: list[str] = field(default_factory=list)
    at: float = field(default_factory=time.time)  # when the reply was ready
    started_at: float = 0.0  # when the request reached the emulator (before its body was read)


class PlaygroundServer:
    def __init__(self, world: World | None = None, *, bot_token: str, ack_deadline_s: float = limits.INTERACTION_ACK_S,
                 token_lifetime_s: float = limits.INTERACTION_TOKEN_S, heartbeat_ms: int = 41250,
                 attachment_size_limit: int = limits.ATTACHMENT_SIZE, privileged_intents: bool = True,
                 nonce_window_s: float = DEFAULT_WINDOW_S) -> None:
        self.world = world or default_world()
        self.bot_token = bot_token
        self.attachment_size_limit = attachment_size_limit
        self.registry = CommandRegistry(self.world)
        self.gateway = Gateway(self.world, self.token_ok, heartbeat_ms=heartbeat_ms,
                               privileged_intents=privileged_intents)
        self.desk = InteractionDesk(self.world, self.gateway.dispatch, ack_deadline_s=ack_deadline_s,
                                    token_lifetime_s=token_lifetime_s, size_limit=attachment_size_limit)
        self.limiter = RateLimiter(self.world.clock)
        self.nonces = NonceRegistry(self.world.clock, nonce_window_s)
        self.requests: list[RecordedRequest] = []
        # Failures to serve instead of the next requests to a route (tests): route -> statuses, in order.
        self.failures: dict[str, list[int]] = {}

    def token_ok(self, token: str) -> bool:
        return secrets.compare_digest(token.removeprefix("Bot ").encode(), self.bot_token.encode())

    def build_app(self) -> web.Application:
        # Uploads up to the attachment limit (x10 files) must reach the handler, which answers 40005.
        app = web.Application(middlewares=[self._edge], client_max_size=11 * self.attachment_size_limit + 2**20)
        app[CORE] = self
        rest.add_routes(app)
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/gateway/", self.gateway.handle)
        return app

    @web.middleware
    async def _edge(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if not request.path.startswith(API + "/"):
            return await handler(request)
        started_at = time.time()
        route = _route_key(request)
        decision = self.limiter.check(route, dict(request.match_info))
        try:
            if not request.path.startswith(TOKEN_IN_PATH):
                if not self.token_ok(request.headers.get("Authorization", "")):
                    raise UNAUTHORIZED
            if not decision.allowed:
                response: web.StreamResponse = json_response(decision.body(), status=429)
            elif self.failures.get(route):
                # A failure a test asked for (Discord trouble, a refused edit): nothing is done.
                status = self.failures[route].pop(0)
                response = json_response({"message": f"{status}: failure injected by the playground", "code": 0},
                                         status=status)
            else:
                response = await handler(request)
        except ApiError as error:
            response = json_response(error.body(), status=error.status)
        except web.HTTPNotFound:
            response = json_response({"message": "404: Not Found", "code": 0}, status=404)
        response.headers.update(decision.headers)
        self.requests.append(RecordedRequest(request.method, request.path, route, response.status,
                                             request.get(PAYLOAD), request.get(FILES, []), started_at=started_at))
        return response


def _route_key(request: web.Request) -> str:
    """ "PATCH /channels/{channel_id}/messages/{message_id}": method + path template without /api/v10."""
    info = request.match_info
    resource = info.route.resource if info.route is not None else None
    template = resource.canonical if resource is not None else request.path
    return f"{request.method} {template.removeprefix(API)}"
