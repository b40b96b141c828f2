"""`midway up` picks real engines only when a GPU and their weights are present, else `tiny`."""

from __future__ import annotations

from midway.catalogue import Catalogue, EngineEntry
from ops.local_engines import default_engines


def _catalogue(tmp_path) -> Catalogue:
    local = tmp_path / "my-model"
    local.mkdir()
    entries = {
        "tiny": EngineEntry(name="tiny", kind="tiny", family="sd"),
        "mine": EngineEntry(name="mine", kind="sd", model=str(local)),
        "absent": EngineEntry(name="absent", kind="sdxl", model=str(tmp_path / "nowhere.safetensors")),
        "hub": EngineEntry(name="hub", kind="sdxl", model="someone/not-in-this-cache"),
    }
    return Catalogue(entries)


def test_gpu_with_local_weights_serves_those_engines(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert default_engines(_catalogue(tmp_path), gpu=True) == ["mine"]


def test_gpu_serves_one_engine_by_default_as_each_stays_resident(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    for name in ("first", "second"):
        (tmp_path / name).mkdir()
    catalogue = Catalogue({name: EngineEntry(name=name, kind="sdxl", model=str(tmp_path / name))
                           for name in ("first", "second")})
    assert default_engines(catalogue, gpu=True) == ["first"]


def test_without_gpu_it_is_the_offline_tiny_engine(tmp_path):
    assert default_engines(_catalogue(tmp_path), gpu=False) == ["tiny"]


def test_the_shipped_catalogue_offers_both_offline_families_and_a_captioner():
    from midway.catalogue import load_catalogue

    assert default_engines(load_catalogue(), gpu=False) == ["tiny", "tiny-unclip", "tiny-caption"]


def test_gpu_without_any_weights_falls_back_to_tiny(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    catalogue = Catalogue({"hub": EngineEntry(name="hub", kind="sdxl", model="someone/not-in-this-cache"),
                           "tiny": EngineEntry(name="tiny", kind="tiny", family="sd")})
    assert default_engines(catalogue, gpu=True) == ["tiny"]


def test_a_gpu_machine_serves_a_captioner_beside_its_image_engine(tmp_path, monkeypatch):
    """/describe must find a worker on a GPU machine too: the real captioner when its weights are here,
    else the tiny one, and the bot is pointed at whichever is served."""
    from ops.local_engines import caption_engine

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    (tmp_path / "sdxl").mkdir()
    entries = {"sdxl": EngineEntry(name="sdxl", kind="sdxl", model=str(tmp_path / "sdxl")),
               "blip": EngineEntry(name="blip", kind="caption", model="Salesforce/not-in-this-cache"),
               "tiny-caption": EngineEntry(name="tiny-caption", kind="tiny", family="caption")}
    served = default_engines(Catalogue(entries), gpu=True)
    assert served == ["sdxl", "tiny-caption"]
    assert caption_engine(served, Catalogue(entries), "blip") == "tiny-caption"

    (tmp_path / "blip").mkdir()
    entries["blip"] = EngineEntry(name="blip", kind="caption", model=str(tmp_path / "blip"))
    served = default_engines(Catalogue(entries), gpu=True)
    assert served == ["sdxl", "blip"]
    assert caption_engine(served, Catalogue(entries), "tiny-caption") == "blip"
    assert caption_engine(["sdxl"], Catalogue(entries), "blip") == "blip"  # nothing served: keep the setting
