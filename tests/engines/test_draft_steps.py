"""`--draft` on a real tiny pipeline: the catalogue's draft_steps are the steps that actually run."""

from __future__ import annotations

import numpy as np

from engines.params import step_count
from midway.catalogue import guidance_scale

from .conftest import small_spec


def steps_run(engine, **update) -> tuple[list[int], int]:
    """(the step numbers the engine reported, the total it announced) for one grid."""
    seen: list[tuple[int, int]] = []
    engine.run(small_spec(steps=None, **update), on_progress=lambda step, total, _preview: seen.append((step, total)))
    return sorted({step for step, _ in seen}), max(total for _, total in seen)


def test_a_draft_runs_the_catalogues_draft_steps_not_its_steps(tiny):
    entry = tiny.entry
    assert (entry.steps, entry.draft_steps) == (8, 4)  # the shipped catalogue's tiny engine
    full_steps, full_total = steps_run(tiny)
    draft_steps, draft_total = steps_run(tiny, draft=True)
    assert full_total == 8 and full_steps[-1] == 8
    assert draft_total == 4 and draft_steps == [1, 2, 3, 4]


def test_a_draft_draws_different_pixels_from_the_full_job_of_the_same_seed(tiny):
    full = np.stack([np.asarray(image) for image in tiny.run(small_spec(steps=None))])
    draft = np.stack([np.asarray(image) for image in tiny.run(small_spec(steps=None, draft=True))])
    assert full.shape == draft.shape and not np.array_equal(full, draft)


def test_draft_guidance_replaces_the_base_guidance_only_for_drafts(tiny):
    from dataclasses import replace

    entry = replace(tiny.entry, draft_guidance=1.0)
    assert guidance_scale(small_spec(draft=True), entry) == 1.0
    assert guidance_scale(small_spec(), entry) == entry.guidance
    # --q still scales a draft's steps; spec steps below the draft's are kept.
    assert step_count(small_spec(steps=None, draft=True, quality=0.5), entry) == 2
    assert step_count(small_spec(steps=3, draft=True), entry) == 3
