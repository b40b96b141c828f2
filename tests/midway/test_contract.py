"""Every model in midway/contract.py survives JSON (the only form it takes in Redis) unchanged."""

from __future__ import annotations

import inspect

import pytest
from pydantic import BaseModel, ValidationError

from midway import contract
from midway.contract import (
    Event,
    EventKind,
    GenerationSpec,
    Job,
    JobStatus,
    Lane,
    LoraChoice,
    MessageRef,
    Operation,
    PanDirection,
    Requester,
    UpscaleMode,
)


def full_spec() -> GenerationSpec:
    return GenerationSpec(
        operation=Operation.variation,
        prompt="space::2 ship",
        full_prompt="https://e.com/a.png space::2 ship --no water --ar 16:9",
        negative_prompt="water, ünïcode 🦊",
        weights=[("space", 2.0), ("ship", 1.0), ("water", -0.5)],
        aspect_ratio="16:9",
        width=1344,
        height=768,
        seed=4294967295,
        steps=12,
        guidance=6.5,
        chaos=100,
        stylize=1000,
        quality=0.25,
        stop=10,
        tile=True,
        weird=3000,
        image_urls=["https://e.com/a.png"],
        image_weight=2.5,
        image_weights=[1.0],
        style_refs=["https://e.com/s.png"],
        style_ref_weights=[2.0],
        style_weight=250,
        character_refs=["https://e.com/face.png"],
        character_ref_weights=[1.5],
        character_weight=40,
        omni_refs=["https://e.com/cup.png"],
        omni_weight=300,
        style_code=77,
        style="raw",
        version="niji 6",
        engine="tiny",
        lane=Lane.turbo,
        n_images=1,
        init_image="blob:abc/0",
        strength=0.35,
        upscale_factor=4,
        upscale_mode=UpscaleMode.creative,
        zoom=1.5,
        pan=PanDirection.left,
        region=(0.25, 0.0, 0.5, 0.75),
        draft=True,
        loras=[full_lora(), LoraChoice(name="ink", weight=-1.5)],
    )


def full_lora() -> LoraChoice:
    return LoraChoice(name="tiny-style", weight=0.8)


def full_requester() -> Requester:
    return Requester(user_id="1", user_name="ada", guild_id="2", channel_id="3")


def full_message() -> MessageRef:
    return MessageRef(
        channel_id="3",
        message_id="4",
        application_id="5",
        interaction_token="tok",
        token_expires_at=1.5,
        attachment_size_limit=26214400,
    )


def full_job() -> Job:
    return Job(
        id="job-1",
        spec=full_spec(),
        requester=full_requester(),
        message=full_message(),
        parent_job_id="job-0",
        parent_index=3,
        label="Variations (Strong)",
        lane=Lane.relax,
        cost=0.25,
        status=JobStatus.failed,
        created_at=1.25,
        started_at=2.5,
        finished_at=3.75,
        attempts=2,
        max_attempts=5,
        recoveries=1,
        worker="gpu-0",
        outputs=["blob:1", "blob:2"],
        grid="blob:grid",
        error="Out of memory",
        compute_s=12.5,
        texts=["a red fox, soft light --ar 3:2"],
        word_scores=[0.25, 0.0125],
        safety_scores=[0.125, 0.875],
        safety_flagged=[False, True],
        safety_failed=True,
    )


def full_event() -> Event:
    return Event(
        job_id="job-1",
        kind=EventKind.progress,
        at=9.5,
        position=2,
        step=5,
        total=20,
        preview="blob:p",
        outputs=["blob:1"],
        grid="blob:grid",
        texts=["fox --ar 3:2"],
        word_scores=[0.5],
        safety_scores=[0.75],
        safety_flagged=[True],
        safety_failed=True,
        error="stopped",
        worker="gpu-0",
        attempt=1,
    )


FACTORIES = {
    GenerationSpec: full_spec,
    LoraChoice: full_lora,
    Requester: full_requester,
    MessageRef: full_message,
    Job: full_job,
    Event: full_event,
}


def contract_models() -> set[type[BaseModel]]:
    return {
        value
        for name, value in vars(contract).items()
        if inspect.isclass(value)
        and issubclass(value, BaseModel)
        and not name.startswith("_")
        and value.__module__ == contract.__name__
    }


def test_every_contract_model_has_a_round_trip_case() -> None:
    assert contract_models() == set(FACTORIES), "add a factory with non-default values for new models"


@pytest.mark.parametrize("model", list(FACTORIES), ids=lambda model: model.__name__)
def test_round_trip_unchanged(model: type[BaseModel]) -> None:
    instance = FACTORIES[model]()
    again = model.model_validate_json(instance.model_dump_json())
    assert again == instance
    assert again.model_dump() == instance.model_dump()


@pytest.mark.parametrize("model", list(FACTORIES), ids=lambda model: model.__name__)
def test_round_trip_cases_set_every_field(model: type[BaseModel]) -> None:
    # A field left at its default would not prove it survives the wire.
    instance = FACTORIES[model]()
    defaults = model.model_fields
    at_default = [
        name
        for name, info in defaults.items()
        if not info.is_required() and getattr(instance, name) == info.get_default(call_default_factory=True)
    ]
    assert at_default == [], f"give these fields a non-default value in tests/midway/test_contract.py: {at_default}"


def test_enums_travel_as_their_values() -> None:
    data = full_job().model_dump(mode="json")
    assert (data["status"], data["lane"], data["spec"]["operation"]) == ("failed", "relax", "variation")
    assert data["spec"]["weights"][0] == ["space", 2.0]


@pytest.mark.parametrize("region", [(0.5, 0.0, 0.6, 1.0), (0.0, 0.0, 0.0, 0.5), (-0.1, 0.0, 0.5, 0.5)])
def test_a_region_outside_the_image_is_refused(region) -> None:
    with pytest.raises(ValidationError, match="inside the image"):
        GenerationSpec(operation=Operation.inpaint, region=region)
