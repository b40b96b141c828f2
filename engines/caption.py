"""/describe: an image -> four prompts in Midjourney's style, from a captioning model (BLIP).

Why BLIP (`Salesforce/blip-image-captioning-large`): it is a native transformers class
(`BlipForConditionalGeneration`, no `trust_remote_code`), loads with `from_pretrained` from a hub id or
a folder like every other engine, runs in ~1 GB, and takes a text prefix that steers the caption
("a painting of ..."), which is how the four prompts differ in medium as Midjourney's do. Florence-2 and
BLIP-2 caption better and are drop-in candidates for the same interface, at 2-8x the memory.

Each prompt: a caption sampled (nucleus sampling, seed s + i) after one of four medium prefixes, a
short style tail from the image's own look (bright/dark, warm/cool), and the `--ar` of the image's
shape, reduced as Midjourney does (1456x816 -> `--ar 16:9`).
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

import torch
from PIL import Image, ImageStat

from engines.base import ProgressCallback
from midway.catalogue import EngineEntry

# The medium each of the four prompts starts from; BLIP continues the text it is given.
PREFIXES = ("a photograph of", "a painting of", "an illustration of", "a digital artwork of")
MAX_NEW_TOKENS = 30
TOP_P = 0.9
# `--ar` terms above this are approximated (Midjourney suggests 16:9, not 1456:816).
MAX_RATIO_TERM = 21


def suggested_aspect(size: tuple[int, int]) -> str:
    """The `--ar` of an image's shape: its reduced ratio, approximated to terms of at most 21."""
    width, height = size
    ratio = Fraction(width, height)
    if max(ratio.numerator, ratio.denominator) > MAX_RATIO_TERM:
        ratio = min((Fraction(w, h) for w in range(1, MAX_RATIO_TERM + 1) for h in range(1, MAX_RATIO_TERM + 1)),
                    key=lambda candidate: (abs(float(candidate) - width / height), candidate.denominator))
    return f"{ratio.numerator}:{ratio.denominator}"


def look_of(image: Image.Image) -> str:
    """A few words on the image's light and colour, from its pixel statistics (no model needed)."""
    stat = ImageStat.Stat(image.convert("RGB").resize((64, 64)))
    red, green, blue = stat.mean
    brightness = (red + green + blue) / 3
    light = "bright, airy light" if brightness > 170 else "low-key, moody light" if brightness < 85 else "soft light"
    warmth = "warm tones" if red > blue + 12 else "cool tones" if blue > red + 12 else "muted tones"
    return f"{light}, {warmth}"


def tidy(caption: str, prefix: str) -> str:
    """A caption as prompt text: the prefix once, single spaces, no trailing punctuation or parameters."""
    text = re.sub(r"\s+", " ", caption.replace("--", " ")).strip(" ,.;:")
    if not text.lower().startswith(prefix):
        text = f"{prefix} {text}".strip()
    return text


class CaptionEngine:
    """A BLIP captioner resident on the worker: `describe(image, seed)` gives four prompts."""

    def __init__(self, entry: EngineEntry, model: Any, processor: Any, device: torch.device,
                 dtype: torch.dtype) -> None:
        self.name = entry.name
        self.entry = entry
        self.model = model.to(device=device, dtype=dtype).eval()
        self.processor = processor
        self.device = device
        self.dtype = dtype

    def describe(self, image: Image.Image, seed: int, count: int = 4,
                 on_progress: ProgressCallback | None = None) -> list[str]:
        """`count` prompts for `image`; the same image and seed give the same prompts. `on_progress(done,
        count, None)` after each prompt: each is one sampled generate, the unit of work a user waits on."""
        rgb = image.convert("RGB")
        tail = f"{look_of(rgb)} --ar {suggested_aspect(rgb.size)}"
        prompts = []
        for index in range(count):
            prefix = PREFIXES[index % len(PREFIXES)]
            caption = self._caption(rgb, prefix, seed + index)
            prompts.append(f"{tidy(caption, prefix)}, {tail}")
            if on_progress is not None:
                on_progress(index + 1, count, None)
        return prompts

    @torch.inference_mode()
    def _caption(self, image: Image.Image, prefix: str, seed: int) -> str:
        inputs = self.processor(images=image, text=prefix, return_tensors="pt").to(self.device)
        inputs["pixel_values"] = inputs["pixel_values"].to(self.dtype)
        # Sampling, seeded per prompt: four different captions of one image, reproducible by its seed.
        # generate() samples from the global generators: fork them (the CUDA one too, on a GPU) so the
        # worker's other random state is as it was.
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            output = self.model.generate(**inputs, do_sample=True, top_p=TOP_P, max_new_tokens=MAX_NEW_TOKENS)
        return str(self.processor.decode(output[0], skip_special_tokens=True))


def load_caption_engine(entry: EngineEntry, source: str, device: torch.device, dtype: torch.dtype,
                        **kwargs: Any) -> CaptionEngine:
    """The captioner of a catalogue entry, through transformers' `from_pretrained` (hub id or folder)."""
    from transformers import BlipForConditionalGeneration, BlipProcessor

    from engines.loading import load_pipeline

    model = load_pipeline(BlipForConditionalGeneration, entry, source, dtype, **kwargs)
    # The processor (image resizing + tokenizer) comes from the same folder; it takes no dtype.
    processor = BlipProcessor.from_pretrained(source, **kwargs)
    return CaptionEngine(entry, model, processor, device, dtype)
