"""Cheap progress previews: a fixed linear latent -> RGB projection, no extra model.

The factors are the least-squares fits ComfyUI publishes for each VAE (comfy/latent_formats.py);
any 4-channel latent family without its own fit (MoVQ, tiny random VAEs) uses the SD 1.5 one.
"""

from __future__ import annotations

import torch
from PIL import Image

from midway.images.imaging import compose_grid

SD15_FACTORS = [
    [0.3512, 0.2297, 0.3227],
    [0.3250, 0.4974, 0.2350],
    [-0.2829, 0.1762, 0.2721],
    [-0.2120, -0.2616, -0.7177],
]
SDXL_FACTORS = [
    [0.3651, 0.4232, 0.4341],
    [-0.2533, -0.0042, 0.1068],
    [0.1076, 0.1111, -0.0362],
    [-0.3165, -0.2492, -0.2188],
]
SDXL_BIAS = [0.1084, -0.0175, -0.0011]
FLUX_FACTORS = [
    [-0.0346, 0.0244, 0.0681], [0.0034, 0.0210, 0.0687], [0.0275, -0.0668, -0.0433],
    [-0.0174, 0.0160, 0.0617], [0.0859, 0.0721, 0.0329], [0.0004, 0.0383, 0.0115],
    [0.0405, 0.0861, 0.0915], [-0.0236, -0.0185, -0.0259], [-0.0245, 0.0250, 0.1180],
    [0.1008, 0.0755, -0.0421], [-0.0515, 0.0201, 0.0011], [0.0428, -0.0012, -0.0036],
    [0.0817, 0.0765, 0.0749], [-0.1264, -0.0522, -0.1103], [-0.0280, -0.0881, -0.0499],
    [-0.1262, -0.0982, -0.0778],
]
FLUX_BIAS = [-0.0329, -0.0718, -0.0851]

_FITS: dict[str, tuple[list[list[float]], list[float] | None]] = {
    "sd": (SD15_FACTORS, None),
    "sdxl": (SDXL_FACTORS, SDXL_BIAS),
    "flux": (FLUX_FACTORS, FLUX_BIAS),
    "unclip": (SD15_FACTORS, None),
}


def latents_to_images(latents: torch.Tensor, family: str) -> list[Image.Image]:
    """(B, C, h, w) latents -> B small RGB images at latent resolution."""
    factors, bias = _FITS.get(family, _FITS["sd"])
    channels = latents.shape[1]
    weight = torch.tensor(factors, dtype=torch.float32)
    if channels != weight.shape[0]:
        # A latent space we have no fit for: show its first three channels rather than nothing.
        weight = torch.eye(channels, 3, dtype=torch.float32)
        bias = None
    rgb = torch.einsum("bchw,cr->brhw", latents.detach().float().cpu(), weight)
    if bias is not None:
        rgb = rgb + torch.tensor(bias).view(1, 3, 1, 1)
    pixels = ((rgb.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return [Image.fromarray(array) for array in pixels]


def preview_image(latents: torch.Tensor, family: str) -> Image.Image:
    """One preview for a batch: a 2x2 grid of up to four images, or the single image."""
    images = latents_to_images(latents[:4], family)
    return images[0] if len(images) == 1 else compose_grid(images)
