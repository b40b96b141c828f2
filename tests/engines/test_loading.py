"""Engines that cannot load fail with an EngineError naming the entry (never at import)."""

from __future__ import annotations

import pytest

from engines.registry import get_engine, load_engine
from midway.catalogue import parse_entry
from midway.errors import EngineError, EngineNotFound


def test_unknown_engine(catalogue):
    with pytest.raises(EngineNotFound, match="'nope'.*known engines"):
        get_engine("nope", catalogue)


def test_missing_single_file_and_folder(tmp_path):
    file_entry = parse_entry("mine", {"kind": "sd", "model": str(tmp_path / "model.safetensors")})
    with pytest.raises(EngineError, match="'mine': model file not found"):
        load_engine(file_entry)
    folder_entry = parse_entry("local", {"kind": "sdxl", "model": str(tmp_path / "no-such-folder")})
    with pytest.raises(EngineError, match="'local': model folder not found"):
        load_engine(folder_entry)


def test_offline_hub_id_fails_fast_with_advice(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    entry = parse_entry("hub", {"kind": "sd", "model": "midway-test/does-not-exist"})
    with pytest.raises(EngineError, match="'hub': cannot load 'midway-test/does-not-exist'.*local folder"):
        load_engine(entry)


def test_weights_that_do_not_fit_the_device_are_an_engine_error_not_a_crash(tiny, monkeypatch):
    """Where CUDA raises when a second large engine is moved onto a full GPU: the pipeline's `.to`."""
    import torch

    from engines.loading import optimise

    def full(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 5.00 GiB")

    monkeypatch.setattr(tiny.pipe, "to", full)
    with pytest.raises(EngineError, match=r"engine 'tiny' does not fit on cpu: serve fewer engines"):
        optimise(tiny.pipe, tiny.entry, torch.device("cpu"))


def test_a_single_file_offline_asks_for_the_config_of_its_architecture(tmp_path, monkeypatch):
    """A .safetensors file holds weights only: offline, diffusers cannot fetch its base model's configs."""
    import torch
    from safetensors.torch import save_file

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    checkpoint = tmp_path / "finetune.safetensors"
    save_file({"model.diffusion_model.input_blocks.0.0.weight": torch.zeros(4, 4, 3, 3)}, str(checkpoint))
    entry = parse_entry("mine", {"kind": "sdxl", "model": str(checkpoint)})
    with pytest.raises(EngineError, match=r"'mine': cannot load .*set the catalogue's `config`"):
        load_engine(entry)


def test_the_catalogue_takes_a_config_for_single_files_and_refuses_a_single_file_unclip(tmp_path):
    from midway.errors import CatalogueError

    entry = parse_entry("mine", {"kind": "sdxl", "model": "/m/x.safetensors", "config": "/m/sdxl-base"})
    assert entry.config == "/m/sdxl-base"
    with pytest.raises(CatalogueError, match="not a single file"):
        parse_entry("kandinsky", {"kind": "unclip", "model": "/m/decoder.safetensors", "prior": "/m/prior"})
