"""LoRAs through the emulator: an admin allows one per channel, `/imagine ... --lora name::0.8` runs with it,
V1 and 🔄 keep it, /show names it; LoRAs not allowed here, unknown or of another family are refused
ephemerally and start nothing."""

from __future__ import annotations

import pytest

from bot.commands.info import info_text
from bot.custom_ids import Action
from bot.derive import derive
from bot.planning import plan_imagine
from bot.store import ChannelSettings, UserSettings, UserStats, VariationMode
from midway.catalogue import Catalogue, parse_entry
from midway.contract import GenerationSpec, Job, JobStatus, Lane, LoraChoice, Requester
from midway.loras import parse_lora
from midway.settings import Settings
from playground.driver import DriverError, Playground
from tests.bot.helpers import job_of, jobs_of_user, result_for, result_of_press, stored_job

pytestmark = pytest.mark.slow

STYLE = [LoraChoice(name="tiny-style", weight=0.8)]
ENTRY = parse_entry("small", {"kind": "tiny", "family": "sd", "base_width": 64, "base_height": 64,
                              "size_multiple": 32})
CATALOGUE = Catalogue({"small": ENTRY}, loras={
    "tiny-style": parse_lora("tiny-style", {"model": "tiny-lora-sd", "families": ["sd"],
                                            "trigger_words": ["tnystyle"]})})
CHANNEL = ChannelSettings(loras=["tiny-style"])
CLICKER = Requester(user_id="7", guild_id="1", channel_id="2")


def planned(text: str) -> GenerationSpec:
    return plan_imagine(text, UserSettings(), CHANNEL, CATALOGUE, Settings(default_engine="small")).specs[0]


def pressed(parent: Job, action: Action, remix: str | None = None) -> Job:
    return derive(parent, action, None if action is Action.reroll else 1, CLICKER, lane=Lane.fast,
                  variation_mode=VariationMode.high, entry=ENTRY, seed=5,
                  remix=planned(remix) if remix is not None else None)


@pytest.mark.parametrize("action", [Action.variation, Action.vary_subtle, Action.vary_strong, Action.reroll])
def test_vary_reroll_and_an_unchanged_remix_keep_the_loras(action: Action) -> None:
    parent = Job(spec=planned("an owl --lora tiny-style::0.8"), requester=CLICKER, status=JobStatus.done,
                 outputs=["img-1", "img-2", "img-3", "img-4"])
    for job in (pressed(parent, action), pressed(parent, action, parent.spec.full_prompt)):
        assert job.spec.loras == STYLE and job.spec.prompt == "an owl tnystyle"
    reweighted = pressed(parent, action, "a grey owl --lora tiny-style::0.3")
    assert reweighted.spec.loras == [LoraChoice(name="tiny-style", weight=0.3)]
    assert reweighted.spec.prompt == "a grey owl tnystyle"
    dropped = pressed(parent, action, "a grey owl")
    assert dropped.spec.loras == [] and dropped.spec.prompt == "a grey owl"


async def test_an_allowed_lora_runs_and_v1_and_reroll_keep_it(pg: Playground, worker, midway, settings) -> None:
    with pytest.raises(DriverError):  # Discord hides the admin command from a normal user
        await pg.slash("engine lora add", user="alice", channel="general", options={"lora": "tiny-style"})
    choices = await pg.autocomplete("engine lora add", "lora", "style", user="admin", channel="general")
    assert [choice["value"] for choice in choices] == ["tiny-style", "tiny-style-xl"]
    added = await (await pg.slash("engine lora add", user="admin", channel="general",
                                  options={"lora": "tiny-style"})).response()
    assert "`--lora tiny-style` is now allowed" in added.content and added.ephemeral_for == pg.user("admin").id
    listed = await (await pg.slash("engine lora list", user="admin", channel="general")).response()
    assert "`tiny-style` (allowed here)" in listed.content and "`tiny-style-xl`, for sdxl" in listed.content

    ack = await (await pg.slash("imagine", user="alice", channel="general",
                                options={"prompt": "a blue owl --lora tiny-style::0.8"})).response()
    grid = await result_for(pg, ack)
    job = stored_job(settings.redis_url, job_of(grid))
    assert job is not None and job.spec.loras == STYLE
    assert job.spec.prompt == "a blue owl tnystyle" and "--lora tiny-style::0.8" in grid.content

    variation = stored_job(settings.redis_url, job_of(await result_of_press(pg, grid, "V1")))
    assert variation is not None and variation.spec.operation.value == "variation"
    assert variation.spec.loras == STYLE and variation.spec.prompt == "a blue owl tnystyle"
    rerolled = stored_job(settings.redis_url, job_of(await result_of_press(pg, grid, "🔄")))
    assert rerolled is not None and rerolled.spec.loras == STYLE and rerolled.spec.seed != job.spec.seed

    shown = await (await pg.slash("show", user="alice", channel="general",
                                  options={"job_id": variation.id})).response(timeout=15)
    assert "LoRAs: `tiny-style::0.8`" in shown.content


async def test_loras_not_allowed_here_unknown_or_of_another_family_are_refused(pg: Playground, midway,
                                                                              settings) -> None:
    await (await pg.slash("engine lora add", user="admin", channel="art", options={"lora": "tiny-style"})).response()
    await (await pg.slash("engine lora add", user="admin", channel="art", options={"lora": "tiny-style-xl"})).response()
    before = len(jobs_of_user(settings.redis_url, pg.user("alice").id))
    refusals = {
        # Allowed in #art only.
        ("general", "a fox --lora tiny-style"): "LoRA `tiny-style` is not allowed in this channel",
        ("art", "a fox --lora tiny-nope"): "Unknown LoRA `tiny-nope`",
        ("art", "a fox --lora tiny-style-xl"): "LoRA `tiny-style-xl` is made for sdxl engines",
        ("art", "a fox --lora tiny-style::7"): "it must be a number from -4 to 4",
    }
    for (channel, prompt), named in refusals.items():
        reply = await (await pg.slash("imagine", user="alice", channel=channel, options={"prompt": prompt})).response()
        assert named in reply.content, reply.content
        assert reply.ephemeral_for == pg.user("alice").id
    # Removed from #art: refused there too, and nothing ever started.
    removed = await (await pg.slash("engine lora remove", user="admin", channel="art",
                                    options={"lora": "tiny-style"})).response()
    assert "no longer allowed" in removed.content
    reply = await (await pg.slash("imagine", user="alice", channel="art",
                                  options={"prompt": "a fox --lora tiny-style"})).response()
    assert "not allowed in this channel (allowed here: `tiny-style-xl`)" in reply.content
    assert len(jobs_of_user(settings.redis_url, pg.user("alice").id)) == before


def test_info_names_the_loras_of_active_jobs() -> None:
    requester = Requester(user_id="1", guild_id="2", channel_id="3")
    styled = Job(spec=GenerationSpec(prompt="owl", loras=STYLE), requester=requester)
    plain = Job(spec=GenerationSpec(prompt="fox"), requester=requester)
    text = info_text(UserSettings(), UserStats(), [styled, plain])
    assert f"**LoRAs**: `{styled.id}`: `tiny-style::0.8`" in text and plain.id not in text
    assert "**LoRAs**" not in info_text(UserSettings(), UserStats(), [plain])
