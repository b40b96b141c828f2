"""/describe's captioner and /shorten's word scores on the tiny engines, loaded through the real code
(`from_pretrained` on a saved random-weight BLIP; the tiny SD pipeline's CLIP text encoder)."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from PIL import Image

from engines.caption import PREFIXES, look_of, suggested_aspect
from engines.shorten import cosine_distances, leave_one_out, score_prompt, word_scores
from midway.errors import EngineError
from midway.prompt.shorten import shorten_input, shortened_prompts


@pytest.fixture(scope="module")
def tiny_caption(state_dir, catalogue):
    from engines.registry import get_engine

    return get_engine("tiny-caption", catalogue)


def test_the_shipped_blip_entry_loads_through_the_same_code_as_the_tiny_one(catalogue, tiny_caption) -> None:
    """`blip` names a hub id (no download here): pointed at the tiny captioner's saved folder, the real
    entry's own path (kind `caption`, not tiny, no local-only flag) loads the same class and describes alike."""
    from engines.registry import load_engine
    from engines.tiny.cache import ensure_tiny

    blip = catalogue.get("blip")
    assert (blip.kind, blip.model, blip.is_tiny) == ("caption", "Salesforce/blip-image-captioning-large", False)
    engine = load_engine(dataclasses.replace(blip, model=str(ensure_tiny(catalogue.get("tiny-caption")))))
    assert type(engine) is type(tiny_caption) and type(engine.model) is type(tiny_caption.model)
    assert engine.describe(fox(), seed=5) == tiny_caption.describe(fox(), seed=5)


def test_a_caption_entry_whose_weights_are_not_here_says_how_to_get_them(catalogue, monkeypatch) -> None:
    """As `blip` offline, before its download (a hub id no cache holds, so the test means the same anywhere)."""
    from engines.registry import load_engine

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    entry = dataclasses.replace(catalogue.get("blip"), model="midway-test/blip-not-downloaded")
    with pytest.raises(EngineError, match="'blip': cannot load 'midway-test/blip-not-downloaded'.*download"):
        load_engine(entry)


def fox(size: tuple[int, int] = (96, 64), colour: tuple[int, int, int] = (200, 30, 30)) -> Image.Image:
    return Image.new("RGB", size, colour)


def test_four_prompts_each_with_a_medium_and_the_images_aspect_ratio(tiny_caption) -> None:
    prompts = tiny_caption.describe(fox((1456, 816)), seed=7)
    assert len(prompts) == 4
    for prompt, prefix in zip(prompts, PREFIXES, strict=True):
        assert prompt.startswith(prefix) and prompt.endswith("--ar 16:9")
        assert prompt.count("--") == 1  # the caption itself can never smuggle in a parameter


def test_the_same_image_and_seed_give_the_same_prompts_another_seed_others(tiny_caption) -> None:
    image = fox()
    first = tiny_caption.describe(image, seed=3)
    assert tiny_caption.describe(image, seed=3) == first
    assert tiny_caption.describe(image, seed=4) != first


def test_describing_leaves_the_workers_global_random_state_as_it_was(tiny_caption) -> None:
    before = torch.random.get_rng_state()
    tiny_caption.describe(fox(), seed=3)
    assert torch.equal(torch.random.get_rng_state(), before)


def test_the_caption_follows_the_image(tiny_caption) -> None:
    assert tiny_caption.describe(fox(colour=(250, 250, 240)), seed=1) != tiny_caption.describe(
        fox(colour=(10, 20, 90)), seed=1)


@pytest.mark.parametrize(("size", "ratio"), [((1456, 816), "16:9"), ((512, 512), "1:1"), ((300, 200), "3:2"),
                                              ((816, 1456), "9:16"), ((1000, 1001), "1:1")])
def test_suggested_aspect_is_reduced_and_readable(size: tuple[int, int], ratio: str) -> None:
    assert suggested_aspect(size) == ratio


def test_the_look_reads_light_and_colour() -> None:
    assert look_of(fox(colour=(250, 240, 230))) == "bright, airy light, warm tones"
    assert look_of(fox(colour=(10, 20, 70))) == "low-key, moody light, cool tones"


def test_leaving_nothing_out_moves_nothing_and_scores_are_deterministic(tiny) -> None:
    words = shorten_input("a very beautiful red fox in a misty forest --ar 3:2").words
    pipe = tiny.pipe
    from engines.shorten import clip_text_encoder

    encode = clip_text_encoder(pipe.tokenizer, pipe.text_encoder, pipe.text_encoder.device)
    same = encode([" ".join(words), " ".join(words)])
    assert cosine_distances(same[0], same[1:]) == [0.0]
    scores = score_prompt(tiny, words)
    assert scores == score_prompt(tiny, words)
    assert len(scores) == len(words) and all(score >= 0 for score in scores) and max(scores) > 0
    assert scores == word_scores(encode, words)


def test_shortened_prompts_keep_the_parameters_on_the_real_encoder(tiny) -> None:
    prompt = shorten_input("a very beautiful red fox in a misty forest --ar 3:2 --chaos 20")
    shorter = shortened_prompts(prompt, score_prompt(tiny, prompt.words))
    assert len(shorter) == 5 and all(text.endswith("--ar 3:2 --chaos 20") for text in shorter)
    assert len(shorter[0].split()) < len(shorter[-1].split()) < len(prompt.rebuild(prompt.words).split())


def test_the_unclip_engine_scores_with_its_priors_text_encoder(tiny_unclip) -> None:
    scores = score_prompt(tiny_unclip, ["red", "fox", "snow"])
    assert len(scores) == 3 and scores == score_prompt(tiny_unclip, ["red", "fox", "snow"])


def test_leave_one_out_drops_each_word_once() -> None:
    assert leave_one_out(["red", "fox", "snow"]) == ["fox snow", "red snow", "red fox"]
