"""A minimal discord.py bot that exercises the playground the way Midway's bot will.

Unmodified discord.py: only `playground.connect.point_discord_at` (done by the fixtures) knows the
server is local. Each command shows one interaction pattern.
"""

from __future__ import annotations

import asyncio
import io

import discord
from discord import app_commands
from discord.ext import commands
from PIL import Image

TOKEN = "playground-test-token"


def png(width: int = 8, height: int = 6) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


class Counter(discord.ui.DynamicItem[discord.ui.Button], template=r"mini:count:(?P<n>\d+)"):
    """A persistent button: its state lives in the custom_id, so it works after a restart."""

    def __init__(self, n: int) -> None:
        super().__init__(discord.ui.Button(label=f"Count {n}", custom_id=f"mini:count:{n}", emoji="🔄"))
        self.n = n

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button, match) -> Counter:
        return cls(int(match["n"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        view = discord.ui.View(timeout=None).add_item(Counter(self.n + 1))
        await interaction.response.edit_message(content=f"count {self.n + 1}", view=view)


class NameForm(discord.ui.Modal, title="Your name"):
    name = discord.ui.TextInput(label="Name", custom_id="name", max_length=20)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"hello {self.name.value}")


engine = app_commands.Group(name="engine", description="Engine settings")


@engine.command(name="set", description="Choose the engine")
async def engine_set(interaction: discord.Interaction, name: str) -> None:
    await interaction.response.send_message(f"engine {name}", ephemeral=True)


@engine_set.autocomplete("name")
async def engine_names(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    names = ["tiny", "sd15", "sdxl"]
    return [app_commands.Choice(name=n, value=n) for n in names if n.startswith(current)]


class MiniBot(commands.Bot):
    def __init__(self, *, late_s: float = 0.0) -> None:
        super().__init__(command_prefix="!", intents=discord.Intents.default(), guild_ready_timeout=0.1)
        self.late_s = late_s
        self.errors: list[Exception] = []
        self.synced = asyncio.Event()

    async def setup_hook(self) -> None:
        self.add_dynamic_items(Counter)
        self.tree.add_command(engine)
        self.tree.on_error = self.record_error
        self._add_commands()
        await self.tree.sync()
        self.synced.set()

    async def record_error(self, interaction: discord.Interaction, error: Exception) -> None:
        self.errors.append(getattr(error, "original", error))

    def _add_commands(self) -> None:
        tree = self.tree

        @tree.command(description="Say it back")
        async def echo(interaction: discord.Interaction, text: str) -> None:
            await interaction.response.send_message(text)

        @tree.command(description="Think first, then answer")
        async def slow(interaction: discord.Interaction, text: str) -> None:
            await interaction.response.defer(thinking=True)
            await asyncio.sleep(0.05)
            await interaction.edit_original_response(content=f"slow {text}")
            await interaction.followup.send(f"and a followup for {text}")

        @tree.command(description="Answer, then change the answer")
        async def edit(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("first")
            await interaction.edit_original_response(content="second")

        @tree.command(description="Post a picture")
        async def picture(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("here", file=discord.File(io.BytesIO(png()), "red.png"))

        @tree.command(description="Show a persistent counter")
        async def counter(interaction: discord.Interaction) -> None:
            view = discord.ui.View(timeout=None).add_item(Counter(0))
            await interaction.response.send_message("count 0", view=view)

        @tree.command(description="Ask for a name")
        async def form(interaction: discord.Interaction) -> None:
            await interaction.response.send_modal(NameForm())

        @tree.command(description="Only for admins")
        @app_commands.default_permissions(administrator=True)
        async def admin(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("admin ok")

        @tree.command(description="Answer after a delay")
        async def late(interaction: discord.Interaction) -> None:
            await asyncio.sleep(self.late_s)
            await interaction.response.send_message("too late?")

        @tree.command(description="Acknowledge twice")
        async def twice(interaction: discord.Interaction) -> None:
            await interaction.response.defer()
            await interaction.client.http.request(  # a raw second callback, as a buggy bot would send
                discord.http.Route("POST", "/interactions/{i}/{t}/callback", i=interaction.id, t=interaction.token),
                json={"type": 4, "data": {"content": "again"}},
            )

        @tree.command(description="Describe an upload")
        async def upload(interaction: discord.Interaction, file: discord.Attachment) -> None:
            await interaction.response.send_message(f"{file.filename} {file.size} {file.width}x{file.height}")
