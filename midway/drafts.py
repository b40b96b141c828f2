"""`--draft` (Midjourney V7 Draft mode) against the catalogue: which engine a draft runs on, and the
full-quality spec its Enhance button asks for. Shared by the bot's planning and the CLI (pure, no torch).

A draft runs either on its own engine with the catalogue's `draft_steps` (engines/params.step_count) or,
when the engine names a `draft_engine`, on that engine instead: the spec is moved there here, before it
is queued, because each engine has its own queue and workers.
"""

from __future__ import annotations

import re

from midway.catalogue import Catalogue, draft_source
from midway.contract import GenerationSpec
from midway.prompt.errors import PromptError, shown
from midway.sizing import size_for_aspect


def no_draft_mode(engine: str) -> PromptError:
    return PromptError(f"Engine {shown(engine)} has no draft mode: leave out `--draft`, or pick an engine "
                       "that has one with `--v`.", "--draft")


def draft_spec(spec: GenerationSpec, catalogue: Catalogue) -> GenerationSpec:
    """`spec` ready to queue: unchanged unless it is a draft; PromptError naming the engine when that
    engine cannot draft; moved (and resized) to the engine's `draft_engine` when it has one."""
    if not spec.draft or spec.engine is None or spec.engine not in catalogue:
        return spec
    entry = catalogue.get(spec.engine)
    if not entry.drafts:
        raise no_draft_mode(entry.name)
    if not entry.draft_engine:
        return spec
    return _on_engine(spec, catalogue, entry.draft_engine)


def enhanced_spec(spec: GenerationSpec, catalogue: Catalogue) -> GenerationSpec:
    """The draft's prompt, seed and parameters at full quality: not a draft, and back on the engine whose
    `draft_engine` served it (if one did)."""
    # The prompt as shown (and as a Remix of the result prefills) no longer says `--draft`: it is not one.
    full = spec.model_copy(update={"draft": False, "full_prompt": without_draft(spec.full_prompt)}, deep=True)
    source = draft_source(catalogue, spec.engine) if spec.engine else None
    return _on_engine(full, catalogue, source) if source else full


def without_draft(prompt: str) -> str:
    """`prompt` without its `--draft` parameter (a bare flag, never inside a word or a link)."""
    return re.sub(r"\s+--draft(?=\s|$)", "", prompt)


def _on_engine(spec: GenerationSpec, catalogue: Catalogue, engine: str) -> GenerationSpec:
    """`spec` on `engine`, at that engine's size for the spec's aspect ratio."""
    entry = catalogue.get(engine)
    width_ratio, height_ratio = (int(side) for side in spec.aspect_ratio.split(":"))
    width, height = size_for_aspect(width_ratio, height_ratio, entry.base_width, entry.base_height,
                                    entry.size_multiple)
    return spec.model_copy(update={"engine": entry.name, "width": width, "height": height})
