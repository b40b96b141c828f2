"""The driver over HTTP, under /_playground: what the page and outside scripts use.

    GET  /_playground/state                      guilds+channels, users (admin flag), bot, commands
    POST /_playground/slash    {"user", "channel", "command", "options", "wait"?}
                                                 -> {"ok", "interaction_id", "error"?, "response_type"?}
    POST /_playground/click    {"user", "message_id", "custom_id", "values"?, "forge"?}   -> same shape
    POST /_playground/modal    {"user", "custom_id", "values"}                  -> same shape
    POST /_playground/modal/close {"user", "custom_id"}     Cancel a modal: it is discarded -> {"ok", "error"?}
    POST /_playground/dismiss  {"user", "message_id"}       "Dismiss message" on an ephemeral one -> same
    POST /_playground/channel  {"name", "nsfw"?}            Create the channel, or mark an existing one
                                                 age-restricted (nsfw: true) or not -> {"ok", "id", "nsfw"}
    GET  /_playground/autocomplete?user=&channel=&command=&option=&value=       -> {"choices": [...]}
    GET  /_playground/messages?channel=NAME[&user=NAME]                          -> [message view]
    GET  /_playground/modals?user=NAME                                           -> [open modal view]
    GET  /_playground/live[?user=NAME]   Server-Sent Events: {"type": "message" | "message_delete" |
                                         "modal" | "state", "channel": NAME, "message": view}

Subcommands go in "command" ("engine set") or as nested options. An attachment option's value is
{"filename", "content_base64"}. With "wait": true, /slash, /click and /modal wait (up to the ack
deadline) for the bot's acknowledgement and report its callback type. Ids are strings.
What Discord's client would refuse (an unknown command, a bad option value, no bot to answer) is an
answer, not a failed request: HTTP 200 with {"ok": false, "error"}. HTTP 400 means the request itself
is wrong (malformed JSON, a missing field, a user or channel the world does not have).
The page itself is served at / from playground/static/ (index.html, /static/*).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from playground.errors import DriverError
from playground.views import event_view, message_view, modal_view, state_view

if TYPE_CHECKING:
    from playground.driver import Playground
    from playground.waiting import InteractionRun

PREFIX = "/_playground"
STATIC_DIR = Path(__file__).resolve().parent / "static"
PLAYGROUND: web.AppKey[Playground] = web.AppKey("playground_driver")
STREAMS: web.AppKey[set[asyncio.Task]] = web.AppKey("playground_streams")
FALLBACK_PAGE = b"<!doctype html><title>Midway playground</title><p>The page is not built yet: see /_playground/state"


def add_driver_routes(app: web.Application, playground: Playground) -> None:
    app[PLAYGROUND] = playground
    app[STREAMS] = set()
    app.router.add_get(f"{PREFIX}/state", _state)
    app.router.add_post(f"{PREFIX}/slash", _slash)
    app.router.add_post(f"{PREFIX}/click", _click)
    app.router.add_post(f"{PREFIX}/modal", _modal)
    app.router.add_post(f"{PREFIX}/modal/close", _close_modal)
    app.router.add_post(f"{PREFIX}/dismiss", _dismiss)
    app.router.add_post(f"{PREFIX}/channel", _channel)
    app.router.add_get(f"{PREFIX}/autocomplete", _autocomplete)
    app.router.add_get(f"{PREFIX}/messages", _messages)
    app.router.add_get(f"{PREFIX}/modals", _modals)
    app.router.add_get(f"{PREFIX}/live", _live)
    app.router.add_get("/", _index)
    app.router.add_get("/static/{name}", _static)
    app.on_shutdown.append(_end_streams)


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=json.dumps(data).encode(), status=status, content_type="application/json")


def _pg(request: web.Request) -> Playground:
    return request.app[PLAYGROUND]


async def _state(request: web.Request) -> web.Response:
    return _json(state_view(_pg(request), request.query.get("user")))


def _error_text(error: Exception) -> str:
    return str(error.args[0] if error.args else repr(error))


async def _act(request: web.Request, action: Any) -> web.Response:
    """Run a driver action; refusals (what Discord's client would refuse) come back as ok: false."""
    try:
        body = await request.json()
        run: InteractionRun | None = await action(_pg(request), body)
    except DriverError as error:
        # The page shows a refusal like Discord's client does, so it is a normal answer (HTTP 200).
        return _json({"ok": False, "error": _error_text(error)})
    except (KeyError, ValueError, TypeError) as error:
        return _json({"ok": False, "error": _error_text(error)}, status=400)
    if run is None:
        return _json({"ok": True})
    result: dict[str, Any] = {"ok": True, "interaction_id": str(run.id)}
    if body.get("wait"):
        deadline = _pg(request).server.desk.ack_deadline_s + 0.5
        try:
            result["response_type"] = await run.acked(deadline)
        except TimeoutError:
            result.update(ok=False, error="The application did not respond")
    return _json(result)


async def _slash(request: web.Request) -> web.Response:
    return await _act(request, lambda pg, b: pg.slash(
        b["command"], user=b["user"], channel=b["channel"], options=b.get("options") or {}))


async def _click(request: web.Request) -> web.Response:
    return await _act(request, lambda pg, b: pg.click(
        b["message_id"], b["custom_id"], user=b["user"], values=b.get("values"), forge=bool(b.get("forge"))))


async def _modal(request: web.Request) -> web.Response:
    return await _act(request, lambda pg, b: pg.submit_modal(b["custom_id"], b.get("values") or {}, user=b["user"]))


async def _close_modal(request: web.Request) -> web.Response:
    async def close(pg: Playground, body: dict[str, Any]) -> None:
        pg.close_modal(body["custom_id"], user=body["user"])

    return await _act(request, close)


async def _dismiss(request: web.Request) -> web.Response:
    async def dismiss(pg: Playground, body: dict[str, Any]) -> None:
        pg.dismiss_message(body["message_id"], user=body["user"])

    return await _act(request, dismiss)


async def _channel(request: web.Request) -> web.Response:
    """An age-restricted channel to try the safety filter in: create it, or flip an existing one's flag."""
    pg = _pg(request)
    try:
        body = await request.json()
        name, nsfw = str(body["name"]).strip(), bool(body.get("nsfw", False))
    except (KeyError, ValueError, TypeError, AttributeError) as error:
        return _json({"ok": False, "error": _error_text(error)}, status=400)
    if not name:
        return _json({"ok": False, "error": "a channel needs a name"}, status=400)
    try:
        channel = pg.set_nsfw(name, nsfw)
    except KeyError:
        channel = pg.add_channel(name, nsfw=nsfw)
    return _json({"ok": True, "id": str(channel.id), "nsfw": channel.nsfw})


async def _autocomplete(request: web.Request) -> web.Response:
    q = request.query
    pg = _pg(request)
    try:
        choices = await pg.autocomplete(q["command"], q["option"], q.get("value", ""), user=q["user"],
                                        channel=q["channel"], timeout=pg.server.desk.ack_deadline_s + 0.5)
    except (DriverError, TimeoutError) as error:
        # Discord's picker says "Loading options failed": an answer to show, not a failed request.
        return _json({"choices": [], "error": _error_text(error)})
    except KeyError as error:
        return _json({"choices": [], "error": _error_text(error)}, status=400)
    return _json({"choices": choices})


async def _messages(request: web.Request) -> web.Response:
    pg = _pg(request)
    try:
        messages = pg.messages(request.query["channel"], request.query.get("user"))
    except KeyError as error:
        return _json({"error": str(error.args[0])}, status=404)
    return _json([message_view(pg.world, m) for m in messages])


async def _modals(request: web.Request) -> web.Response:
    pg = _pg(request)
    try:
        modals = pg.modals(request.query["user"])
    except KeyError as error:
        return _json({"error": str(error.args[0])}, status=404)
    return _json([modal_view(pg.world, m) for m in modals])


async def _live(request: web.Request) -> web.StreamResponse:
    """Server-Sent Events for every message create/edit/delete, modal and world change."""
    pg = _pg(request)
    viewer = request.query.get("user")
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await response.prepare(request)
    queue: asyncio.Queue = asyncio.Queue()
    pg.world.listeners.append(queue.put_nowait)
    task = asyncio.current_task()
    request.app[STREAMS].add(task)  # type: ignore[arg-type]
    try:
        await response.write(b": connected\n\n")
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), 15.0)
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            data = event_view(pg.world, event, viewer)
            if data is not None:
                await response.write(f"data: {json.dumps(data)}\n\n".encode())
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        pg.world.listeners.remove(queue.put_nowait)
        request.app[STREAMS].discard(task)  # type: ignore[arg-type]
    return response


async def _end_streams(app: web.Application) -> None:
    # Open event streams would otherwise hold the server's shutdown until they time out.
    for task in list(app[STREAMS]):
        task.cancel()
    with contextlib.suppress(Exception):
        await asyncio.sleep(0)


async def _index(request: web.Request) -> web.StreamResponse:
    page = STATIC_DIR / "index.html"
    if not page.exists():
        return web.Response(body=FALLBACK_PAGE, content_type="text/html")
    return web.FileResponse(page)


async def _static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    path = (STATIC_DIR / name).resolve()
    if path.parent != STATIC_DIR or not path.is_file():
        raise web.HTTPNotFound()
    return web.FileResponse(path)
