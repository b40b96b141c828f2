"""The shipped sd15 / sdxl IP-Adapters: the catalogue names h94/IP-Adapter's real files, and diffusers' own
load_ip_adapter finds them, and the one ViT-H/14 image encoder, where h94's repo keeps them. The real sizes
are checked offline by bench/real_adapter_shapes.py (minutes; bench/RESULTS.md); here tiny weights sit at
the real paths, so a typo in a subfolder, a file name or `image_encoder` fails in seconds."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from engines.latent import default_adapter_source, default_character_source
from engines.registry import load_engine
from engines.tiny import ip_adapter, ip_adapter_plus
from engines.tiny.real_adapters import ENCODER_FOLDER, TWINS
from midway.catalogue import SHIPPED_CATALOGUE, load_catalogue

from .conftest import small_spec
from .test_blend import BLUE, RED, mse

H94 = "h94/IP-Adapter"
# engine -> (its family, the subfolder of its adapters, the plain adapter, the Plus one for --cref / --oref).
SHIPPED = {
    "sd15": ("sd", "models", "ip-adapter_sd15.safetensors", "ip-adapter-plus_sd15.safetensors"),
    "sdxl": ("sdxl", "sdxl_models", "ip-adapter_sdxl_vit-h.safetensors", "ip-adapter-plus_sdxl_vit-h.safetensors"),
}
TINY = {"sd": "tiny", "sdxl": "tiny-sdxl"}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_the_shipped_adapters_are_h94s_vit_h_pair(name: str) -> None:
    family, subfolder, plain, plus = SHIPPED[name]
    entry = load_catalogue(SHIPPED_CATALOGUE).get(name)
    repo, adapter_subfolder, weights, encoder, _ = default_adapter_source(entry)
    assert (repo, adapter_subfolder, weights) == (H94, subfolder, plain)
    assert default_character_source(entry)[:3] == (H94, subfolder, plus)
    # sd15's adapters sit beside models/image_encoder (the default name next to the weights); sdxl's vit-h
    # ones name it from the repo's root, as diffusers' load_ip_adapter reads a path with a '/'.
    assert encoder == ("" if family == "sd" else ENCODER_FOLDER)
    assert [twin.path for twin in TWINS[family]] == [f"{subfolder}/{plain}", f"{subfolder}/{plus}"]
    assert entry.reference_features == ["image prompts (adapter)", "--sref", "--cref", "--oref"]


def h94_layout(repo: Path, family: str, unet) -> None:
    """Tiny weights under h94's real paths, with the one image encoder at models/image_encoder only."""
    from safetensors.torch import save_file

    plain, plus = TWINS[family]
    for twin, state in ((plain, ip_adapter.adapter_state_dict(unet)), (plus, ip_adapter_plus.adapter_state_dict(unet))):
        (repo / twin.path).parent.mkdir(parents=True, exist_ok=True)
        save_file({key: value.contiguous() for key, value in state.items()}, repo / twin.path)
    ip_adapter.vision_encoder().save_pretrained(repo / ENCODER_FOLDER)


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_the_shipped_sources_load_through_load_ip_adapter_from_h94s_layout(name: str, tmp_path: Path, state_dir,
                                                                           catalogue) -> None:
    family = SHIPPED[name][0]
    shipped = load_catalogue(SHIPPED_CATALOGUE).get(name)
    # The tiny engine of that family with the shipped entry's adapter keys, h94's repo a local folder.
    entry = replace(catalogue.get(TINY[family]), image_encoder=shipped.image_encoder,
                    ip_adapter=shipped.ip_adapter.replace(H94, str(tmp_path)),
                    character_adapter=shipped.character_adapter.replace(H94, str(tmp_path)))
    engine = load_engine(entry, catalogue.loras)
    h94_layout(tmp_path, family, engine.pipe.unet)
    spec = small_spec(steps=2, n_images=1, style_refs=["https://e.com/s.png"], character_refs=["https://e.com/c.png"])
    referenced = engine.run(spec, style_images=[BLUE], character_images=[RED])
    assert engine.adapter.loaded and engine.pipe.image_encoder is not None
    assert mse(referenced, engine.run(small_spec(steps=2, n_images=1))) > 1
