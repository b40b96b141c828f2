"""The playground: a local Discord API emulator that the unmodified discord.py client connects to.

- `driver.Playground`: run it and act as its users from Python (tests, scripts); see its docstring.
- `http_driver`: the same actions over HTTP under /_playground (the page in `static/` uses them).
- `connect.point_discord_at(url)`: the one place a bot is told to talk to the playground.
- `server` (REST under /api/v10 + middleware), `gateway`, `interactions`, `validation`,
  `command_validation`, `ratelimit`, `state` (the world), `payloads` (Discord JSON shapes).
Limits come from `midway.discord_limits`, the table the bot uses as well.
"""
