"""Issue 21's safety classifier on the tiny random-weight StableDiffusionSafetyChecker, saved with
`save_pretrained` and loaded through `load_safety_checker`, the code that loads the CompVis checkpoint."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from engines.safety import DEFAULT_THRESHOLD, SafetyClassifier, load_safety_checker, score_of
from engines.tiny.safety import build_safety_checker
from midway.errors import EngineError

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("tiny-safety-checker")
    build_safety_checker().save_pretrained(path)
    return path


@pytest.fixture()
def classifier(folder) -> SafetyClassifier:
    return load_safety_checker(str(folder), CPU, torch.float32, local_files_only=True)


def red() -> Image.Image:
    return Image.new("RGB", (64, 48), (220, 20, 20))


def noise(seed: int = 0) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def images() -> list[Image.Image]:
    return [red(), noise(0), Image.new("RGB", (40, 40), (250, 250, 250)), noise(1), Image.new("L", (32, 32), 30)]


def test_the_folder_holds_the_checker_and_its_processor_as_the_checkpoint_ships_them(folder) -> None:
    assert (folder / "config.json").is_file() and (folder / "preprocessor_config.json").is_file()
    assert (folder / "model.safetensors").is_file()


def test_the_concepts_are_loaded_not_reinitialised(classifier) -> None:
    concepts = classifier.checker.concept_embeds
    assert concepts.shape == (17, 16)
    assert not torch.allclose(concepts, torch.ones_like(concepts))
    torch.testing.assert_close(concepts.norm(dim=-1), torch.ones(17))


def test_scores_are_in_the_unit_interval_and_deterministic_across_loads(folder, classifier) -> None:
    first = classifier.scores(images())
    assert all(0.0 <= score <= 1.0 for score in first)
    again = load_safety_checker(str(folder), CPU, torch.float32, local_files_only=True).scores(images())
    assert again == first


def test_different_images_get_different_scores(classifier) -> None:
    red_score, noise_score = classifier.scores([red(), noise()])
    assert abs(red_score - noise_score) > 1e-3


def test_one_batched_pass_scores_as_one_image_at_a_time(classifier) -> None:
    batched = classifier.scores(images())
    alone = [classifier.scores([image])[0] for image in images()]
    np.testing.assert_allclose(batched, alone, atol=1e-5, rtol=0)
    assert classifier.scores([]) == [] and classifier.flagged([]) == []


def test_threshold_zero_flags_every_image_one_none(classifier) -> None:
    assert classifier.flagged(images(), threshold=0.0) == [True] * 5
    assert classifier.flagged(images(), threshold=1.0) == classifier.flagged(images(), threshold=1.5) == [False] * 5


def test_a_threshold_between_two_scores_flags_exactly_the_higher(classifier) -> None:
    low, high = sorted(classifier.scores([red(), noise()]))
    flags = classifier.flagged([red(), noise()], threshold=(low + high) / 2)
    assert sorted(flags) == [False, True]
    assert flags[classifier.scores([red(), noise()]).index(high)]


def test_the_default_line_is_the_checkers_own_decision(classifier) -> None:
    # Move the concept thresholds so that some of the images pass and some do not, then ask the
    # checker's own (unrounded) forward which it would black out.
    margins = sorted(classifier.margins(images()))
    with torch.no_grad():
        classifier.checker.concept_embeds_weights += (margins[1] + margins[2]) / 2
        pixels = classifier.processor(images=[image.convert("RGB") for image in images()],
                                      return_tensors="pt")["pixel_values"]
        _, its_flags = classifier.checker.forward_onnx(pixels, torch.ones(5, 3, 8, 8))
    ours = classifier.flagged(images(), threshold=DEFAULT_THRESHOLD)
    assert sum(ours) == 3
    assert ours == its_flags.tolist()


def test_crossing_a_special_care_concept_tightens_every_concept_by_a_hundredth(classifier) -> None:
    before = classifier.margins(images())
    with torch.no_grad():
        classifier.checker.special_care_embeds_weights.fill_(-1.0)  # every image crosses
        crossed = classifier.margins(images())
        classifier.checker.special_care_embeds_weights.fill_(2.0)  # none can
        clear = classifier.margins(images())
    np.testing.assert_allclose(np.subtract(crossed, clear), 0.01, atol=1e-6)
    assert all(b in (pytest.approx(c), pytest.approx(d)) for b, c, d in zip(before, crossed, clear, strict=True))


def test_the_score_is_the_logistic_of_the_margin() -> None:
    assert score_of(0.0) == 0.5
    assert score_of(0.02) == pytest.approx(1 / (1 + np.exp(-1)))
    assert score_of(-2.0) > 0.0 and score_of(-100.0) == 0.0 and score_of(100.0) == 1.0


def test_a_missing_folder_is_an_engine_error_naming_it(tmp_path) -> None:
    with pytest.raises(EngineError, match="not found"):
        load_safety_checker(str(tmp_path / "nowhere"), CPU, torch.float32)
    with pytest.raises(EngineError, match="cannot load the safety checker"):
        load_safety_checker(str(tmp_path), CPU, torch.float32, local_files_only=True)
