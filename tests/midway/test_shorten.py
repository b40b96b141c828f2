"""/shorten's pure half: which words a prompt keeps, and how the bot shows them."""

from __future__ import annotations

import pytest

from midway.prompt.shorten import kept_counts, marked_prompt, shares, shorten_input, shortened_prompts

PROMPT = "https://example.com/a.png a very beautiful red fox in a misty forest --ar 3:2 --chaos 20"
# One score per word: "fox", "forest", "red", "misty" carry it; "a", "very", "in" barely move anything.
SCORES = [0.01, 0.02, 0.10, 0.30, 0.50, 0.01, 0.00, 0.20, 0.40]


def test_a_shortened_prompt_does_not_end_on_the_comma_of_a_cut_phrase() -> None:
    prompt = shorten_input("a fox at golden hour, highly detailed --ar 3:2")
    # "highly detailed" scores least: the prompts that drop it end at "hour", not "hour,".
    prompts = shortened_prompts(prompt, [0.1, 0.5, 0.1, 0.4, 0.3, 0.0, 0.0])
    assert prompts[3] == "a fox at golden hour --ar 3:2"
    assert not any(p.split(" --")[0].endswith(",") for p in prompts)


def test_the_prompt_is_cut_into_images_words_and_parameters() -> None:
    cut = shorten_input(PROMPT)
    assert cut.images == ["https://example.com/a.png"]
    assert cut.words == ["a", "very", "beautiful", "red", "fox", "in", "a", "misty", "forest"]
    assert cut.params == "--ar 3:2 --chaos 20"


def test_five_prompts_most_aggressive_first_keep_the_best_words_in_order_and_every_parameter() -> None:
    prompts = shortened_prompts(shorten_input(PROMPT), SCORES)
    assert len(prompts) == 5
    assert prompts[0] == "https://example.com/a.png fox forest --ar 3:2 --chaos 20"
    assert prompts[1] == "https://example.com/a.png red fox forest --ar 3:2 --chaos 20"
    # 7 of 9 words: "a" (first) and "in" tie at 0.01; the earlier word wins the tie.
    assert prompts[-1] == "https://example.com/a.png a very beautiful red fox misty forest --ar 3:2 --chaos 20"
    lengths = [len(prompt.split()) for prompt in prompts]
    assert lengths == sorted(lengths)
    assert all(prompt.endswith("--ar 3:2 --chaos 20") for prompt in prompts)


@pytest.mark.parametrize(("count", "kept"), [(1, [1, 1, 1, 1, 1]), (10, [2, 4, 5, 7, 8]), (3, [1, 1, 2, 2, 2])])
def test_kept_counts_rise_and_keep_at_least_one_word(count: int, kept: list[int]) -> None:
    assert kept_counts(count) == kept


def test_the_marked_prompt_bolds_the_top_half_and_strikes_the_rest() -> None:
    marked = marked_prompt(shorten_input("red fox in the snow"), [0.3, 0.5, 0.0, 0.01, 0.2])
    assert marked == "**red** **fox** ~~in~~ ~~the~~ **snow**"


def test_shares_add_up_to_one_or_are_all_zero() -> None:
    assert sum(shares(SCORES)) == pytest.approx(1, abs=1e-3)
    assert shares([0.0, 0.0]) == [0.0, 0.0]


def test_scores_must_match_the_words() -> None:
    with pytest.raises(ValueError, match="2 scores for 9 words"):
        shortened_prompts(shorten_input(PROMPT), [0.1, 0.2])
