"""/describe's and /shorten's answers are embeds, as Midjourney's are, and fit Discord's embed limits
whatever the prompts' lengths."""

from __future__ import annotations

import pytest

from bot import text_answers
from midway import discord_limits as limits
from midway.contract import GenerationSpec, Job, Operation, Requester


def describe_job(texts: list[str], link: str = "blob:abc") -> Job:
    spec = GenerationSpec(operation=Operation.describe, full_prompt=link, image_urls=[link])
    return Job(spec=spec, requester=Requester(user_id="42"), texts=texts)


def shorten_job(prompt: str, texts: list[str]) -> Job:
    spec = GenerationSpec(operation=Operation.shorten, prompt=prompt, full_prompt=prompt)
    words = prompt.split(" --")[0].split()  # a score per word, none for the parameters
    scores = [float(i) for i, _ in enumerate(words)]
    return Job(spec=spec, requester=Requester(user_id="42"), texts=texts, word_scores=scores)


def embed_size(embed: dict) -> int:
    return len(embed.get("description", "")) + len(embed.get("footer", {}).get("text", ""))


def test_describe_answer_mentions_the_requester_and_shows_the_image_above_four_paragraphs() -> None:
    job = describe_job(["a red fox --ar 3:2", "a painting of a fox --ar 3:2", "a fox\nin snow", "a fox, 4k"])
    answer = text_answers.text_answer(job, "attachment://ann_image_1.png")
    embed = answer.embed().to_dict()
    assert answer.content == "<@42>"
    assert embed["image"] == {"url": "attachment://ann_image_1.png"}
    assert embed["description"] == ("1️⃣ a red fox --ar 3:2\n\n2️⃣ a painting of a fox --ar 3:2\n\n"
                                    "3️⃣ a fox in snow\n\n4️⃣ a fox, 4k")
    assert "footer" not in embed


def test_shorten_answer_has_both_sections_and_the_footer() -> None:
    job = shorten_job("a red fox --ar 3:2", ["fox --ar 3:2", "red fox --ar 3:2"])
    embed = text_answers.text_answer(job).embed().to_dict()
    assert embed["description"] == ("**IMPORTANT TOKENS**\n~~a~~ **red** **fox**\n\n**SHORTENED PROMPTS**\n"
                                    "1️⃣ fox --ar 3:2\n2️⃣ red fox --ar 3:2")
    assert embed["footer"] == {"text": "Click on a button to imagine"} and "image" not in embed


def test_the_longest_answers_fit_discords_embed_limits() -> None:
    huge = "word " * 2000
    for job in (describe_job([huge] * 4), shorten_job(huge.strip(), [huge] * 5)):
        embed = text_answers.text_answer(job, "attachment://x.png").embed().to_dict()
        assert len(embed["description"]) <= limits.EMBED_DESCRIPTION
        assert embed_size(embed) <= limits.EMBED_TOTAL
        assert "…" in embed["description"]  # cut, and says so


@pytest.mark.parametrize(("link", "shown"), [
    ("https://example.com/a.png", True),
    ("http://example.com/a.png?size=2", True),
    ("blob:abc", False),  # an upload: its thumbnail is attached instead
    ("https://ann:secret@example.com/a.png", False),  # credentials are not published in an embed
    ("https://example.com/" + "a" * 1000, False),
])
def test_a_link_is_shown_as_the_embeds_image_only_when_discord_can_show_it_safely(link: str, shown: bool) -> None:
    assert text_answers.shown_link(describe_job(["x"], link)) == (link if shown else None)
