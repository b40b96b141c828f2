"""The FLOP bound of a 4-image grid (pure arithmetic, no torch): the physical limit the GPU part
compares Midway's engine against.

Per-image, per-step UNet costs are forward passes at batch 1, counted with
torch.utils.flop_counter on the meta device (tests/bench/test_flops.py recounts them): SDXL at 1024²
6.76 TFLOP, SD 1.5 at 512² 0.803 TFLOP. Classifier-free guidance doubles the UNet work; the VAE
decode (same architecture in both) costs 10.47 TFLOP per 1024² image and a quarter of that at 512².
"""

from __future__ import annotations

from dataclasses import dataclass

# Dense bf16 throughput an H100 sustains on large GEMMs (the figure; the datasheet's 989 is
# not reached in practice). The fraction of the bound is measured against this.
PEAK_TFLOPS = 800.0


@dataclass(frozen=True)
class Workload:
    name: str
    width: int
    height: int
    unet_tflop_per_image_step: float
    vae_tflop_per_image: float
    images: int = 4
    steps: int = 30
    cfg: bool = True

    @property
    def grid_tflop(self) -> float:
        """Total work of one grid: UNet passes (twice under CFG) for every image and step, plus decodes."""
        unet_passes = self.images * self.steps * (2 if self.cfg else 1)
        return unet_passes * self.unet_tflop_per_image_step + self.images * self.vae_tflop_per_image


SDXL = Workload("SDXL 1024² 30 steps CFG, 4 images", 1024, 1024, 6.76, 10.47)
SD15 = Workload("SD 1.5 512² 30 steps CFG, 4 images", 512, 512, 0.803, 10.47 / 4)
# Keyed by engines.tiny.real_size kind.
WORKLOADS = {"sdxl": SDXL, "sd": SD15}


def flop_bound_s(workload: Workload, peak_tflops: float = PEAK_TFLOPS) -> float:
    """Seconds one grid would take if every FLOP ran at peak: no engine can beat this."""
    if peak_tflops <= 0:
        raise ValueError(f"peak_tflops must be positive, got {peak_tflops!r}")
    return workload.grid_tflop / peak_tflops


def fraction_of_bound(measured_s: float, workload: Workload, peak_tflops: float = PEAK_TFLOPS) -> float:
    """bound / measured: 1.0 is the physical limit; the issue's goal ("within 2x") is >= 0.5."""
    if measured_s <= 0:
        raise ValueError(f"measured_s must be positive, got {measured_s!r}")
    return flop_bound_s(workload, peak_tflops) / measured_s
