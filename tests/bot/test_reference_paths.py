"""References through the saved paths: a `/prefer option` or `/prefer suffix` holding `--sref` / `--cref`,
/settings showing the suffix, and /show and /info of reference and draft jobs."""

from __future__ import annotations

import pytest

from bot.planning import MAX_SAVED_LENGTH
from bot.settings_panel import panel_text
from bot.store import MAX_OPTIONS, UserSettings
from midway.discord_limits import MESSAGE_CONTENT
from midway.settings import Settings
from playground.driver import Playground
from tests.bot.helpers import job_of, labels, result_for, stored_job, wait_for_stored_job

pytestmark = pytest.mark.slow

# A local link the bot here is allowed to pass (below), and the session's worker refuses at once, before
# connecting: the job exists with its reference, and nothing waits on a network.
FACE = "http://127.0.0.1:9/face.png"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"fetch_allow_hosts": "127.0.0.1:9"})


async def slash(pg: Playground, command: str, **options: str):
    return await (await pg.slash(command, user="alice", channel="general", options=options)).response()


async def imagine(pg: Playground, prompt: str):
    return await slash(pg, "imagine", prompt=prompt)


async def test_a_saved_option_holding_sref_and_sw_applies(pg: Playground, worker, midway, settings) -> None:
    saved = await slash(pg, "prefer option set", name="mystyle", value="--sref 123456 --sw 300")
    assert saved.ephemeral_for == pg.user("alice").id and "now expands to" in saved.content
    grid = await result_for(pg, await imagine(pg, "a cat --v 7 --mystyle"))
    job = stored_job(settings.redis_url, job_of(grid))
    assert job is not None
    assert (job.spec.style_code, job.spec.style_weight, job.spec.engine) == (123456, 300, "tiny2")
    assert "--sref 123456 --sw 300" in grid.content


async def test_a_saved_option_holding_a_cref_link_applies(pg: Playground, worker, midway, settings) -> None:
    await slash(pg, "prefer option set", name="hero", value=f"--cref {FACE} --cw 40")
    ack = await imagine(pg, "a knight --v 7 --hero")
    job = await wait_for_stored_job(settings.redis_url, job_of(ack))
    assert (job.spec.character_refs, job.spec.character_weight) == ([FACE], 40)
    # The worker (no allow list) fetches the reference itself, and refuses it by its own rule.
    failed = await pg.wait_for_message("general", lambda m: m.id == ack.id and "private" in m.content, timeout=30)
    assert "--cref" in failed.content


async def test_an_option_with_a_bad_reference_is_refused_by_name_and_not_saved(pg: Playground, worker, midway,
                                                                             settings) -> None:
    refused = await slash(pg, "prefer option set", name="bad", value="--sw 1001")
    assert "**Invalid option value**" in refused.content and "`--sw`" in refused.content
    assert "0 to 1000" in refused.content and "Nothing was saved" in refused.content
    listed = await slash(pg, "prefer option list")
    assert "--bad" not in listed.content


async def test_a_suffix_sref_applies_unless_the_prompt_sets_its_own(pg: Playground, worker, midway,
                                                                    settings) -> None:
    await slash(pg, "prefer suffix", value="--sref 777 --sw 50")
    plain = await result_for(pg, await imagine(pg, "a lighthouse --v 7"))
    job = stored_job(settings.redis_url, job_of(plain))
    assert job is not None and (job.spec.style_code, job.spec.style_weight) == (777, 50)
    own = await result_for(pg, await imagine(pg, "a lighthouse --v 7 --sref 42"))
    job = stored_job(settings.redis_url, job_of(own))
    assert job is not None and (job.spec.style_code, job.spec.style_weight) == (42, 50)


async def test_settings_shows_the_suffix_and_options_and_reset_clears_the_suffix(pg: Playground, worker, midway,
                                                                                  settings) -> None:
    await slash(pg, "prefer suffix", value="--sref 777")
    await slash(pg, "prefer option set", name="mystyle", value="--sref 123456")
    panel = await slash(pg, "settings")
    assert "**Suffix**" in panel.content and "`--sref 777`" in panel.content and "`--mystyle`" in panel.content
    reset = next(b["custom_id"] for b in panel.buttons if b.get("label") == "Reset Settings")
    updated = await (await pg.click(panel.id, reset, user="alice")).response()
    # Reset clears the suffix (Midjourney's rule) and keeps the options, and the panel says so at once.
    assert "--sref 777" not in updated.content and "`--mystyle`" in updated.content
    job = await wait_for_stored_job(settings.redis_url, job_of(await imagine(pg, "a lighthouse --v 7")))
    assert job.spec.style_code is None


async def test_show_reposts_a_sref_job_with_its_buttons(pg: Playground, worker, midway, settings) -> None:
    grid = await result_for(pg, await imagine(pg, "a tower --v 7 --sref 1234 --sw 200"))
    job_id = job_of(grid)
    reply = await slash(pg, "show", job_id=job_id)
    assert reply.ephemeral_for == pg.user("alice").id and "Posted" in reply.content
    shown = [m for m in pg.messages("general") if m.attachments and m.buttons and m.id != grid.id
             and job_id in m.custom_ids[0]]
    assert len(shown) == 1 and "--sref 1234 --sw 200" in shown[0].content
    assert labels(shown[0]) == labels(grid)


async def test_show_of_a_draft_keeps_enhance_and_info_counts_it(pg: Playground, worker, midway, settings) -> None:
    grid = await result_for(pg, await imagine(pg, "a paper crane --draft"))
    job = stored_job(settings.redis_url, job_of(grid))
    assert job is not None and job.spec.draft and job.cost < 1
    reply = await slash(pg, "show", job_id=job.id)
    assert "Posted" in reply.content
    shown = [m for m in pg.messages("general") if m.attachments and m.buttons and m.id != grid.id
             and job.id in m.custom_ids[0]]
    assert len(shown) == 1 and "(Draft)" in shown[0].content and "Enhance" in labels(shown[0])
    info = await slash(pg, "info")
    assert "**Lifetime Usage**: 4 images" in info.content
    # The hours /info counts are the GPU time the draft really took (its few steps), not a full job's.
    usage = await midway.store.usage(str(pg.user("alice").id))
    assert job.compute_s is not None and usage.compute_s == pytest.approx(job.compute_s)


async def test_a_saved_sref_the_engine_cannot_serve_is_blamed_on_where_it_was_saved(pg: Playground, worker, midway,
                                                                                   settings) -> None:
    # The channel's engine `tiny` has no style adapter: the refusal must say the --sref came from the saved
    # text, or the user is told to leave out a parameter they never typed.
    await slash(pg, "prefer suffix", value="--sref 777")
    from_suffix = await imagine(pg, "a lighthouse")
    assert from_suffix.ephemeral_for == pg.user("alice").id
    assert "`--sref` needs an engine with a style adapter" in from_suffix.content
    assert "This comes from your `/prefer suffix`" in from_suffix.content
    await slash(pg, "prefer suffix")
    await slash(pg, "prefer option set", name="mystyle", value="--sref 123456 --sw 300")
    from_option = await imagine(pg, "a lighthouse --mystyle")
    assert "`--sref` needs an engine with a style adapter" in from_option.content
    assert "This comes from your option `--mystyle`" in from_option.content
    typed = await imagine(pg, "a lighthouse --sref 5")
    assert "`--sref` needs an engine" in typed.content and "This comes from" not in typed.content


def test_the_settings_panel_fits_one_message_with_the_longest_suffix_and_most_options() -> None:
    user = UserSettings(suffix="--sref " + "1" * (MAX_SAVED_LENGTH - 7),
                        options={f"{n:02d}".ljust(32, "x"): "--chaos 5" for n in range(MAX_OPTIONS)})
    text = panel_text(user)
    assert len(text) <= MESSAGE_CONTENT and text.count("xx`") == MAX_OPTIONS
    assert "`--sref 111" in text and "…`" in text  # a long suffix is cut, visibly
