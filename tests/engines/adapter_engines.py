"""Fixtures for the IP-Adapter tests: tiny SD and SDXL engines of each test module's own, not the
session's shared ones. Once its adapters are loaded, every call through the UNet needs image embeddings,
so a shared engine that other files call directly (tests/engines/test_denoised_estimate.py) must never
carry one. Module scope: a module imports these fixtures and gets its own engines."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engines.registry import load_engine

from .test_blend import pixels

__all__ = ["engine", "tiny", "tiny_sdxl"]


@pytest.fixture(scope="module")
def tiny(state_dir, catalogue):
    return load_engine(catalogue.get("tiny"), catalogue.loras)


@pytest.fixture(scope="module")
def tiny_sdxl(state_dir, catalogue):
    return load_engine(catalogue.get("tiny-sdxl"), catalogue.loras)


@pytest.fixture(params=["tiny", "tiny-sdxl"])
def engine(request):
    return request.getfixturevalue("tiny" if request.param == "tiny" else "tiny_sdxl")


def same(a: list[Image.Image], b: list[Image.Image]) -> bool:
    return np.array_equal(pixels(a), pixels(b))
