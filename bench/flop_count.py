"""Count a UNet forward's FLOPs on the meta device (no memory, no compute; ~4 s on a CPU), to check
the constants of bench/flops.py against the real architectures of engines/tiny/real_size.py."""

from __future__ import annotations


def unet_tflop_per_step(kind: str) -> float:
    """TFLOP of one UNet forward at batch 1 and the checkpoint's native size ("sd" or "sdxl")."""
    import torch
    from accelerate import init_empty_weights
    from torch.utils.flop_counter import FlopCounterMode

    from engines.tiny.real_size import UNET_CONFIGS, build_unet

    config = UNET_CONFIGS[kind]
    with init_empty_weights():
        unet = build_unet(kind)
    side = config["sample_size"]
    with torch.device("meta"), FlopCounterMode(display=False) as counter:
        latents, timestep = torch.randn(1, 4, side, side), torch.tensor([500.0])
        context = torch.randn(1, 77, config["cross_attention_dim"])
        extra = {}
        if kind == "sdxl":
            # Pooled text embedding (1280) and the six size/crop conditioning numbers.
            pooled, time_ids = torch.randn(1, 1280), torch.randn(1, 6)
            extra = {"added_cond_kwargs": {"text_embeds": pooled, "time_ids": time_ids}}
        unet(latents, timestep, context, **extra)
    return counter.get_total_flops() / 1e12


def vae_decode_tflop(side: int) -> float:
    """TFLOP of decoding one side x side image from its latents."""
    import torch
    from accelerate import init_empty_weights
    from diffusers import AutoencoderKL
    from torch.utils.flop_counter import FlopCounterMode

    from engines.tiny.real_size import VAE

    with init_empty_weights():
        vae = AutoencoderKL(**VAE)
    with torch.device("meta"), FlopCounterMode(display=False) as counter:
        vae.decode(torch.randn(1, 4, side // 8, side // 8))
    return counter.get_total_flops() / 1e12
