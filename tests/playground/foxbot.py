"""FoxBot, the discord.py bot the page's browser tests talk to: it answers like Midway does (progress
edits, a grid that replies to its progress message, buttons, a private reply that opens a modal)."""

from __future__ import annotations

import io

import discord
from discord import app_commands
from discord.ext import commands
from PIL import Image


def png(color: tuple[int, int, int], size: int = 32) -> discord.File:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buffer, format="PNG")
    buffer.seek(0)
    return discord.File(buffer, "grid.png")


class UpscaleView(discord.ui.View):
    def __init__(self, prompt: str, *, done: bool = False) -> None:
        super().__init__(timeout=None)
        self.prompt = prompt
        self.upscale.disabled = done

    @discord.ui.button(label="U1", emoji="🔍", style=discord.ButtonStyle.primary, custom_id="fox:u1")
    async def upscale(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.edit_message(
            content=f"**{self.prompt}** - upscaled by {interaction.user.mention}",
            view=UpscaleView(self.prompt, done=True),
        )
        await interaction.followup.send("Image #1", file=png((40, 40, 200), 48))


class RemixForm(discord.ui.Modal, title="Remix prompt"):
    prompt = discord.ui.TextInput(label="New prompt", custom_id="prompt", style=discord.TextStyle.paragraph)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"**{self.prompt.value}** - {interaction.user.mention} (remix)")


class RemixView(discord.ui.View):
    def __init__(self, prompt: str) -> None:
        super().__init__(timeout=None)
        self.prompt = prompt

    @discord.ui.button(label="Remix", style=discord.ButtonStyle.success, custom_id="fox:remix")
    async def remix(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        form = RemixForm()
        form.prompt.default = self.prompt
        await interaction.response.send_modal(form)


class FoxBot(commands.Bot):
    """Answers /imagine like Midway does (a waiting message, a live preview edit, then the grid), plus
    an admin-only /remix that answers privately and opens a modal, /describe that takes an upload, and
    an admin-only /grid whose grid replies to its progress message, as Midway's grids do."""

    def __init__(self) -> None:
        super().__init__(command_prefix="!", intents=discord.Intents.default(), guild_ready_timeout=0.1)

    async def setup_hook(self) -> None:
        @self.tree.command(description="Create images from a prompt")
        @app_commands.describe(prompt="The prompt to imagine")
        async def imagine(interaction: discord.Interaction, prompt: str) -> None:
            head = f"**{prompt}** - {interaction.user.mention}"
            await interaction.response.send_message(f"{head} (Waiting to start)")
            await interaction.edit_original_response(content=f"{head} (50%)", attachments=[png((90, 90, 90))])
            await interaction.edit_original_response(
                content=f"{head} (fast)", attachments=[png((200, 40, 40))], view=UpscaleView(prompt)
            )

        @self.tree.command(description="Remix a prompt (admins only)")
        @app_commands.default_permissions(administrator=True)
        async def remix(interaction: discord.Interaction, prompt: str) -> None:
            await interaction.response.send_message(f"Remix `{prompt}`?", view=RemixView(prompt), ephemeral=True)

        @self.tree.command(description="Describe an image")
        async def describe(interaction: discord.Interaction, image: discord.Attachment) -> None:
            # Like Midjourney's /describe: an embed that shows the uploaded image itself.
            embed = discord.Embed(
                title="Describe", description=f"1️⃣ a {image.width}x{image.height} **fox**", color=0x3BA55C
            )
            embed.set_image(url=f"attachment://{image.filename}")
            await interaction.response.send_message(embed=embed, file=await image.to_file())

        @self.tree.command(description="Post a grid as a reply to its progress message (admins only)")
        @app_commands.default_permissions(administrator=True)
        async def grid(
            interaction: discord.Interaction, prompt: str, count: app_commands.Range[int, 1, 4] = 4
        ) -> None:
            # Like Midway: the progress message, the grid as a reply to it, then "(Done)" on the progress.
            head = f"**{prompt}** - {interaction.user.mention}"
            await interaction.response.send_message(f"{head} (12%)")
            progress = await interaction.original_response()
            await progress.reply(f"{head} (fast)", file=png((40, 160, 40), 600))
            await interaction.edit_original_response(content=f"{head} (Done)\n-# {count} images")

        await self.tree.sync()
