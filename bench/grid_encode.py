"""Part 4: compose + encode a 2x2 grid of 1024² images, against Pillow's default PNG save; and
decode one cell of the stored grid (what U1-U4 and a worker's V source read), against Pillow.

The cells are deterministic "photo-like" images: smooth colour fields at four scales plus a little
sensor-like noise. Their PNG size (~13 bits per pixel) is in the range of real diffusion outputs; pure
noise (incompressible) or flat colour (trivially compressible) would flatter or punish one encoder.
Every variant includes compose_grid, so the ratio is the cost a worker pays per grid.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import partial

import numpy as np
from PIL import Image

from bench.report import PartResult, Row
from bench.stats import best_of, ratio
from midway.discord_limits import ATTACHMENT_SIZE
from midway.images.imaging import cell_from_bytes, compose_grid, encode_image, image_to_png_bytes, split_grid

CELL_SIZE = 1024
# (grid cells per side, amplitude): coarse shapes to fine texture, then noise of this sigma.
SCALES = ((4, 90.0), (16, 50.0), (64, 25.0), (256, 10.0))
NOISE_SIGMA = 3.0


def photo_like_cell(seed: int, size: int = CELL_SIZE) -> Image.Image:
    rng = np.random.default_rng(seed)
    field = np.full((size, size, 3), 128.0, np.float32)
    for cells, amplitude in SCALES:
        coarse = rng.uniform(-1, 1, (cells, cells, 3)).astype(np.float32)
        for channel in range(3):
            layer = Image.fromarray(coarse[:, :, channel], mode="F")
            smooth = layer.resize((size, size), Image.Resampling.BICUBIC)
            field[:, :, channel] += amplitude * np.asarray(smooth)
    field += rng.normal(0, NOISE_SIGMA, field.shape).astype(np.float32)
    return Image.fromarray(np.clip(field, 0, 255).astype(np.uint8), "RGB")


def _save(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, **options)
    return buffer.getvalue()


def variants() -> dict[str, Callable[[Image.Image], bytes]]:
    """Label -> encoder of a composed grid. The first one is the baseline."""
    return {
        "Pillow PNG, default save (baseline)": lambda grid: _save(grid, format="PNG"),
        "project encoder (midway.images.imaging.encode_image, 10 MiB cap)":
            lambda grid: encode_image(grid, max_bytes=ATTACHMENT_SIZE)[0],
        "PNG compress_level=1 (lossless, fastest zlib)":
            lambda grid: _save(grid, format="PNG", compress_level=1),
        "WebP q92 method 4 (lossy)": lambda grid: _save(grid, format="WEBP", quality=92, method=4),
    }


def measure(cells: list[Image.Image], repeats: int) -> dict[str, dict[str, float]]:
    """Label -> {seconds (best of `repeats`, compose included), bytes}."""
    measured = {}
    for label, encoder in variants().items():
        seconds, data = best_of(lambda encoder=encoder: encoder(compose_grid(cells)), repeats)
        measured[label] = {"seconds": round(seconds, 4), "bytes": len(data)}
    return measured


def measure_cell_decode(cells: list[Image.Image], repeats: int) -> dict[str, float]:
    """Seconds to get each of the four cells out of the project's stored grid (best of `repeats`, summed
    over the cells): Pillow decodes the whole grid and crops; cell_from_bytes decodes the cell's rows."""
    grid = image_to_png_bytes(compose_grid(cells))

    def pillow_cell(index: int) -> Image.Image:
        image = Image.open(io.BytesIO(grid))
        image.load()
        return split_grid(image)[index]

    def project_cell(index: int) -> Image.Image:
        return cell_from_bytes(grid, index)

    measured = {}
    for label, decode in (("pillow", pillow_cell), ("project", project_cell)):
        seconds = [best_of(partial(decode, index), repeats)[0] for index in range(4)]
        measured[label] = round(sum(seconds), 4)
    return measured


def run(quick: bool) -> PartResult:
    cells = [photo_like_cell(seed) for seed in range(4)]
    repeats = 1 if quick else 5
    measured = measure(cells, repeats=repeats)
    decoded = measure_cell_decode(cells, repeats=repeats)
    baseline_label, project_label = list(measured)[:2]
    baseline = measured[baseline_label]
    result = PartResult(name="grid", details={"variants": measured, "cell_size": CELL_SIZE,
                                              "cell_decode_s": decoded})
    for label, row in measured.items():
        time_ratio = ratio(row["seconds"], baseline["seconds"])
        size_ratio = ratio(row["bytes"], baseline["bytes"])
        result.rows.append(Row(f"grid 2x2 of {CELL_SIZE}²: {label}",
                               f"{1000 * row['seconds']:.0f} ms, {row['bytes'] / 1e6:.2f} MB",
                               f"time x{time_ratio}, bytes x{size_ratio} vs baseline"))
    decode_ratio = ratio(decoded["project"], decoded["pillow"])
    result.rows.append(Row("one cell of the stored grid (U1-U4): decode + crop",
                           f"{250 * decoded['project']:.0f} ms per cell (Pillow: {250 * decoded['pillow']:.0f} ms)",
                           f"time x{decode_ratio} vs Pillow decoding the whole grid"))
    result.figures = {
        "grid_encode_ratio_vs_pillow_png": ratio(measured[project_label]["seconds"], baseline["seconds"]),
        "grid_encode_bytes_ratio_vs_pillow_png": ratio(measured[project_label]["bytes"], baseline["bytes"]),
        "grid_encode_pillow_png_s": baseline["seconds"],
        "cell_decode_ratio_vs_pillow": decode_ratio,
    }
    result.notes.append("Times are the best of the repeats and include compose_grid; ratios < 1 are faster"
                        " or smaller than Pillow's default PNG save (zlib level 6).")
    return result
