"""Tiny engines, built once per session into a temporary state dir and loaded like real ones."""

from __future__ import annotations

import os

import pytest
import torch

from midway.catalogue import Catalogue, load_catalogue
from midway.contract import GenerationSpec

# Pixel comparisons need a fixed thread count (1 vs 2 threads differ by +-1 in a few values).
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def state_dir(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("midway-state")
    previous = os.environ.get("MIDWAY_STATE_DIR")
    os.environ["MIDWAY_STATE_DIR"] = str(path)
    yield path
    if previous is None:
        os.environ.pop("MIDWAY_STATE_DIR", None)
    else:
        os.environ["MIDWAY_STATE_DIR"] = previous


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return load_catalogue()


@pytest.fixture(scope="session")
def tiny(state_dir, catalogue):
    from engines.registry import get_engine

    return get_engine("tiny", catalogue)


@pytest.fixture(scope="session")
def tiny_unclip(state_dir, catalogue):
    from engines.registry import get_engine

    return get_engine("tiny-unclip", catalogue)


def small_spec(**update) -> GenerationSpec:
    """A fast spec for the tiny engines: 64 px, 3 steps, four images."""
    fields = dict(prompt="a red fox in the snow", width=64, height=64, seed=1234, steps=3)
    fields.update(update)
    return GenerationSpec(**fields)


@pytest.fixture(scope="session")
def tiny_flux(state_dir, catalogue):
    from engines.registry import get_engine

    return get_engine("tiny-flux", catalogue)
