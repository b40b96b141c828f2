"""The shipped sd15 / sdxl IP-Adapters, offline: do h94's real files pair with the real models?

`.venv/bin/python -m bench.real_adapter_shapes [--full-sdxl] [--keep DIR]` writes random-weight twins of
h94/IP-Adapter's files (real key names, real shapes, h94's folder layout: engines/tiny/real_adapters.py)
into a temporary folder standing in for the hub repo, and loads them through the engine's own code
(ImageAdapter.load: diffusers' load_ip_adapter with the catalogue's subfolder, weight names and
image_encoder) into a real-size random-weight pipeline (engines/tiny/real_size.py). Then one job with an
image prompt, a --sref and a --cref: `encode` once, one denoising step at 64 px, decoded. It prints one OK
line per check and engine, and raises at the first mismatch. Not in the test suite: minutes and ~10 GB.

SDXL's real UNet is ~10 GB in float32; by default it keeps the real block widths and cross_attention_dim
(2048) but one transformer layer per block instead of (1, 2, 10), which the adapter shapes do not depend on
(`--full-sdxl` builds the real one, in bfloat16 to halve its ~10 GB).
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from engines.latent import default_adapter_source, default_character_source
from engines.tiny import real_adapters, real_size
from midway.catalogue import load_catalogue
from midway.contract import GenerationSpec

ENGINES = {"sd": "sd15", "sdxl": "sdxl"}
REDUCED_SDXL: dict[str, Any] = {"transformer_layers_per_block": (1, 1, 1)}
# What each adapter's projection must make of one reference: (tokens, width) per family.
EXPECTED_TOKENS = {"sd": [(4, 768), (4, 768), (16, 768)], "sdxl": [(4, 2048), (4, 2048), (16, 2048)]}
REFERENCE = Image.new("RGB", (300, 200), (200, 40, 40))
SPEC = GenerationSpec(prompt="a knight in a forest", width=64, height=64, steps=1, n_images=1, seed=7,
                      image_urls=["https://e.com/a.png"], style_refs=["https://e.com/s.png"],
                      character_refs=["https://e.com/c.png"])


def say(started: float, text: str) -> None:
    print(f"OK  [{time.perf_counter() - started:6.1f} s] {text}", flush=True)


def expect(condition: bool, text: str) -> None:
    if not condition:
        raise AssertionError(text)


def make_engine(family: str, repo: Path, full_sdxl: bool) -> Any:
    from engines.stable_diffusion import StableDiffusionEngine, StableDiffusionXLEngine

    entry = load_catalogue().get(ENGINES[family])
    full = family == "sdxl" and full_sdxl
    # The real SDXL in bfloat16, built so from the start: its float32 weights alone would be ~10 GB.
    dtype = torch.bfloat16 if full else torch.float32
    with default_dtype(dtype):
        pipe = real_size.build_pipeline(family, dtype=dtype,
                                        unet_overrides=None if full or family == "sd" else REDUCED_SDXL)
    engine_cls = StableDiffusionEngine if family == "sd" else StableDiffusionXLEngine
    engine = engine_cls(entry, pipe, torch.device("cpu"), dtype)
    # The hub repo as a local folder: only the repo part changes; the catalogue's subfolder, weight names
    # and image_encoder go to load_ip_adapter as they would for h94/IP-Adapter itself.
    engine.adapter_source = lambda: (str(repo), *default_adapter_source(entry)[1:])
    engine.character_source = lambda: (str(repo), *default_character_source(entry)[1:])
    return engine


def describe(path: Path, repo: Path) -> str:
    """`models/x.safetensors (8 image_proj + 32 ip_adapter tensors, ip_adapter.1-31)`."""
    from safetensors import safe_open

    with safe_open(path, framework="pt") as weights:
        keys = list(weights.keys())
    numbers = sorted({int(key.split(".")[1]) for key in keys if key.startswith("ip_adapter.")})
    projection = sum(key.startswith("image_proj.") for key in keys)
    return (f"{path.relative_to(repo)} ({projection} image_proj + {len(keys) - projection} ip_adapter tensors, "
            f"ip_adapter.{numbers[0]}-{numbers[-1]})")


@contextlib.contextmanager
def default_dtype(dtype: torch.dtype) -> Iterator[None]:
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def count_calls(module: Any) -> tuple[list[int], Callable[[], None]]:
    calls: list[int] = []
    hook = module.register_forward_hook(lambda _module, args, _output: calls.append(args[0].shape[0]))
    return calls, hook.remove


def check(family: str, repo: Path, full_sdxl: bool) -> None:
    started = time.perf_counter()
    engine = make_engine(family, repo, full_sdxl)
    unet = engine.pipe.unet
    billions = sum(parameter.numel() for parameter in unet.parameters()) / 1e9
    say(started, f"{ENGINES[family]}: real-size pipeline built (UNet {billions:.2f} B params, cross_attention_dim"
                 f" {unet.config.cross_attention_dim}, transformer layers per block "
                 f"{unet.config.transformer_layers_per_block})")
    paths = real_adapters.save_adapters(repo, family, unet)
    say(started, f"{ENGINES[family]}: twins saved: {'; '.join(describe(path, repo) for path in paths)}")
    check_loading(engine, family, started)
    check_encoding(engine, family, started)
    check_job(engine, family, started)


def check_loading(engine: Any, family: str, started: float) -> None:
    from diffusers.models.embeddings import ImageProjection, IPAdapterPlusImageProjection

    name = ENGINES[family]
    engine.adapter.load()
    encoder = engine.pipe.image_encoder.config
    expect((encoder.hidden_size, encoder.num_hidden_layers, encoder.projection_dim, encoder.image_size)
           == (1280, 32, 1024, 224), f"{name}: wrong image encoder {encoder}")
    layers = engine.pipe.unet.encoder_hid_proj.image_projection_layers
    kinds = [type(layer).__name__ for layer in layers]
    expect(isinstance(layers[0], ImageProjection) and isinstance(layers[2], IPAdapterPlusImageProjection),
           f"{name}: adapters loaded as {kinds}")
    say(started, f"{name}: load_ip_adapter read the catalogue's sources: encoder ViT-H/14 from "
                 f"{real_adapters.ENCODER_FOLDER} (hidden 1280, 32 layers, projection 1024), adapters {kinds}")


def check_encoding(engine: Any, family: str, started: float) -> None:
    name = ENGINES[family]
    references = engine.adapter.encode(SPEC, [REFERENCE], [REFERENCE], characters=[REFERENCE])
    sides = [references.content, references.style, references.character]
    shapes = [tuple(side.positive.shape) for side in sides]
    expect(shapes == [(1, 1024), (1, 1024), (1, 257, 1280)], f"{name}: embeddings {shapes}")
    layers = engine.pipe.unet.encoder_hid_proj.image_projection_layers
    tokens = [tuple(layer(side.positive).shape[-2:]) for layer, side in zip(layers, sides, strict=True)]
    expect(tokens == EXPECTED_TOKENS[family], f"{name}: image tokens {tokens}")
    say(started, f"{name}: encode: image prompt and --sref embeds (1, 1024), --cref hidden states (1, 257, 1280);"
                 f" image tokens per adapter (tokens, width) {tokens}")


def check_job(engine: Any, family: str, started: float) -> None:
    name = ENGINES[family]
    calls, unhook = count_calls(engine.pipe.image_encoder)
    try:
        images = engine.run(SPEC, source_images=[REFERENCE], style_images=[REFERENCE], character_images=[REFERENCE])
    finally:
        unhook()
    expect([image.size for image in images] == [(64, 64)], f"{name}: images {[image.size for image in images]}")
    say(started, f"{name}: one job with an image prompt, --sref and --cref: 1 step at 64 px (8x8 latent) "
                 f"through all three adapters; image encoder passes {calls}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.real_adapter_shapes", description=__doc__.splitlines()[0])
    parser.add_argument("--full-sdxl", action="store_true", help="the real SDXL UNet, in bfloat16 (~5 GB)")
    parser.add_argument("--only", choices=sorted(ENGINES), action="append", help="one family (default both)")
    parser.add_argument("--keep", type=Path, help="write the twins here and keep them (default: a temp dir)")
    args = parser.parse_args(argv)
    torch.set_grad_enabled(False)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="h94-twins-") as temporary:
        repo = args.keep or Path(temporary)
        real_adapters.save_encoder(repo)
        say(started, f"ViT-H/14 image encoder twin saved to {real_adapters.ENCODER_FOLDER}")
        for family in args.only or list(ENGINES):
            check(family, repo, args.full_sdxl)
    print(f"all OK in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
