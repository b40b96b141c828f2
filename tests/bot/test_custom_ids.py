"""The button codec: every id we issue round-trips, fits Discord's limit, and forgeries are refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.custom_ids import INDEXED, Action, CustomIdError, decode, encode, is_job_button
from midway.contract import new_job_id
from midway.discord_limits import CUSTOM_ID


@given(st.sampled_from(list(Action)), st.uuids(version=4), st.integers(1, 4))
def test_every_issued_id_round_trips_and_fits(action: Action, job_uuid, index: int) -> None:
    job_id = str(job_uuid)
    wanted = index if action in INDEXED else None
    custom_id = encode(action, job_id, wanted)
    assert len(custom_id) <= CUSTOM_ID
    ref = decode(custom_id)
    assert (ref.action, ref.job_id, ref.index) == (action, job_id, wanted)
    # The press router must send it to the job buttons, or the click is silently dropped.
    assert is_job_button(custom_id)


def test_design_shape_of_upscale_id() -> None:
    job_id = new_job_id()
    assert encode(Action.upscale, job_id, 2) == f"mw:u:{job_id}:2"


@pytest.mark.parametrize("forged", [
    "mw:u:not-a-job:1",
    "mw:zz:{job}:1",
    "mw:u:{job}",  # U without an index
    "mw:u:{job}:5",  # only four images in a grid
    "mw:u:{job}:01",
    "mw:r:{job}:1",  # reroll takes no index
    "mw:u:{job}:1:extra",
    "MJ::JOB::upsample::1::{job}",
])
def test_forged_ids_are_refused(forged: str) -> None:
    with pytest.raises(CustomIdError):
        decode(forged.format(job=new_job_id()))


def test_encode_refuses_what_decode_would_refuse() -> None:
    with pytest.raises(CustomIdError):
        encode(Action.variation, new_job_id(), 0)
    with pytest.raises(CustomIdError):
        encode(Action.cancel, new_job_id(), 1)
    with pytest.raises(CustomIdError):
        encode(Action.cancel, "../../etc")
