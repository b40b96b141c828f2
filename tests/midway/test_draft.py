"""`--draft`: the parameter, the contract field, the catalogue's draft settings and where a draft runs."""

from __future__ import annotations

import json
import textwrap

import pytest

from midway.catalogue import SHIPPED_CATALOGUE, job_cost, load_catalogue
from midway.contract import GenerationSpec, Job, Requester
from midway.drafts import draft_spec, enhanced_spec
from midway.errors import CatalogueError
from midway.prompt import ParseOptions, PromptError, parse_prompt

from .test_parse_cli import midway


def parsed(text: str) -> GenerationSpec:
    return parse_prompt(text, ParseOptions(seed_source=lambda: 7))[0]


def test_draft_flag_sets_the_spec_and_is_echoed() -> None:
    spec = parsed("a red fox --ar 3:2 --draft")
    assert spec.draft and spec.full_prompt == "a red fox --ar 3:2 --draft"
    assert not parsed("a red fox").draft


@pytest.mark.parametrize(("text", "says"), [("a fox --draft --draft", "given twice"),
                                            ("a fox --draft yes", "Unexpected `yes`")])
def test_bad_draft_flags_are_refused_with_the_reason(text: str, says: str) -> None:
    with pytest.raises(PromptError, match=says):
        parsed(text)


def test_records_written_before_draft_existed_read_as_full_quality() -> None:
    job = Job(spec=GenerationSpec(prompt="a fox"), requester=Requester(user_id="1"))
    data = json.loads(job.model_dump_json())
    del data["spec"]["draft"]
    assert Job.from_record(json.dumps(data)).spec.draft is False
    assert Job.from_record(job.model_copy(update={"spec": parsed("a fox --draft")}).model_dump_json()).spec.draft


def write_catalogue(tmp_path, body: str):
    path = tmp_path / "catalogue.toml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


@pytest.mark.parametrize(("body", "says"), [
    ('[engines.a]\nkind = "tiny"\nfamily = "sd"\nsteps = 8\ndraft_steps = 8\n', "must be fewer than steps"),
    ('[engines.a]\nkind = "tiny"\nfamily = "sd"\ndraft_engine = "nope"\n', "'nope' is not in the catalogue"),
    ('[engines.a]\nkind = "tiny"\nfamily = "sd"\ndraft_guidance = 1.0\n', "draft_guidance needs draft_steps"),
    ('[engines.a]\nkind = "tiny"\nfamily = "sd"\ndraft_engine = "b"\n[engines.b]\nkind = "tiny"\nfamily = "flux"\n',
     "must be another sd engine"),
])
def test_bad_draft_settings_name_the_engine(tmp_path, body: str, says: str) -> None:
    with pytest.raises(CatalogueError, match=says) as caught:
        load_catalogue(write_catalogue(tmp_path, body))
    assert "engine 'a'" in str(caught.value)


def test_every_shipped_image_engine_drafts_and_a_draft_costs_its_step_ratio() -> None:
    catalogue = load_catalogue(SHIPPED_CATALOGUE)
    drafting = {entry.name for entry in catalogue if entry.drafts}
    assert {"tiny", "tiny-sdxl", "tiny-unclip", "tiny-flux", "sdxl", "flux-schnell"} <= drafting
    tiny = catalogue.get("tiny")
    assert job_cost(parsed("a fox --draft"), tiny) == 0.5  # 4 of its 8 steps
    assert job_cost(parsed("a fox"), tiny) == 1.0


def test_an_engine_without_a_draft_mode_refuses_draft_by_name() -> None:
    catalogue = load_catalogue(SHIPPED_CATALOGUE)
    with pytest.raises(PromptError, match="Engine `sdxl-turbo` has no draft mode"):
        draft_spec(parsed("a fox --draft").model_copy(update={"engine": "sdxl-turbo"}), catalogue)


def test_sdxl_drafts_on_sdxl_turbo_and_enhance_returns_to_sdxl_with_the_same_seed() -> None:
    catalogue = load_catalogue(SHIPPED_CATALOGUE)
    spec = parsed("a fox --ar 16:9 --draft").model_copy(update={"engine": "sdxl"})
    draft = draft_spec(spec, catalogue)
    assert draft.engine == "sdxl-turbo" and draft.draft and max(draft.width, draft.height) < 1024
    full = enhanced_spec(draft, catalogue)
    assert (full.engine, full.draft, full.seed, full.aspect_ratio) == ("sdxl", False, 7, "16:9")
    assert (full.width, full.height) == (1344, 768)
    assert full.full_prompt == "a fox --ar 16:9"  # shown without `--draft`: it is not a draft
    # A same-pipeline draft stays on its engine: only `draft` changes, and the prompt loses its `--draft`.
    tiny = parsed("a fox --draft").model_copy(update={"engine": "tiny"})
    assert draft_spec(tiny, catalogue) == tiny
    assert enhanced_spec(tiny, catalogue) == tiny.model_copy(update={"draft": False, "full_prompt": "a fox"})


def test_midway_parse_shows_draft() -> None:
    result = midway("parse", "a fox --draft", "--seed-default", "3")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["draft"] is True
