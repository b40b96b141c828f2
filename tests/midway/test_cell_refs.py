"""Cell refs: image i of a stored 2x2 grid, cut on read, on both blob stores."""

from __future__ import annotations

import io
import random
import time

import pytest
from PIL import Image

from midway import keys
from midway.blobs import FileBlobStore, RedisBlobStore, cell_ref, content_type, filename, is_ref, parse_cell_ref
from midway.images.imaging import compose_grid, image_to_png_bytes

# Not square, so a swapped width and height would show.
CELL_SIZE = (48, 32)


@pytest.fixture(params=["redis", "fs"])
def blobs(request, redis_client, tmp_path):
    if request.param == "redis":
        return RedisBlobStore(redis_client, default_ttl_s=60)
    return FileBlobStore(tmp_path / "blobs", default_ttl_s=60)


def noise_images(count: int) -> list[Image.Image]:
    """Distinct noisy images: a cell cut one pixel off, or the wrong cell, differs from its image."""
    width, height = CELL_SIZE
    return [Image.frombytes("RGB", CELL_SIZE, random.Random(index).randbytes(width * height * 3))
            for index in range(count)]


def store_grid(blobs, images: list[Image.Image], ttl_s: int | None = None) -> str:
    return blobs.put(image_to_png_bytes(compose_grid(images)), content_type="image/png", ttl_s=ttl_s)


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize("count", [4, 3, 2])
def test_each_cell_is_exactly_its_image(blobs, count):
    images = noise_images(count)
    grid = store_grid(blobs, images)
    for index, image in enumerate(images):
        cell = decode(blobs.get(cell_ref(grid, index)))
        assert cell.format == "PNG" and cell.size == CELL_SIZE
        assert cell.convert("RGB").tobytes() == image.tobytes(), f"cell {index} of {count}"


def test_the_grid_itself_still_reads_whole(blobs):
    data = image_to_png_bytes(compose_grid(noise_images(4)))
    grid = blobs.put(data)
    assert blobs.get(grid) == data


def test_a_cell_ref_is_a_png_ref_with_a_safe_name():
    grid = "0123456789abcdef0123456789abcdef.png"
    ref = cell_ref(grid, 3)
    assert is_ref(ref) and parse_cell_ref(ref) == (grid, 3)
    assert content_type(ref) == "image/png" and filename(ref, "fox") == "fox.png"
    # A Redis key part, a file name, and a URL path segment without escaping.
    assert all(char.isalnum() or char in ".~" for char in ref)


@pytest.mark.parametrize("index", [-1, 4, 10])
def test_cell_ref_refuses_a_cell_a_grid_has_not(index):
    with pytest.raises(ValueError, match=str(index)):
        cell_ref("0123456789abcdef0123456789abcdef.png", index)


@pytest.mark.parametrize("grid", ["not-a-ref", "0123456789abcdef0123456789abcdef.bin", "../x.png"])
def test_cell_ref_refuses_what_is_not_a_stored_image(grid):
    with pytest.raises(ValueError, match="not-a-ref|bin|x.png"):
        cell_ref(grid, 0)


def test_malformed_and_out_of_range_cells_read_as_missing(blobs):
    grid = store_grid(blobs, noise_images(4))
    hostile = [f"{grid}~4", f"{grid}~-1", f"{grid}~01", f"{grid}~1\n", f"{grid}~1~2", f"{grid}#1", f"{grid}~",
               f"../{grid}~1", f"{grid[:-4]}.bin~0", "~1", "", "../../etc/passwd", f"{grid}\n", None, 3, b"x"]
    for ref in hostile:
        assert blobs.get(ref) is None, ref
        assert not is_ref(ref), ref


def test_cells_of_an_expired_grid_read_as_missing(blobs):
    grid = store_grid(blobs, noise_images(4), ttl_s=1)
    assert blobs.get(cell_ref(grid, 1)) is not None
    time.sleep(1.2)
    assert [blobs.get(cell_ref(grid, index)) for index in range(4)] == [None] * 4


def test_cells_of_a_blob_that_is_no_image_read_as_missing(blobs):
    ref = blobs.put(b"\x89PNG but truncated", content_type="image/png")
    assert blobs.get(cell_ref(ref, 0)) is None


def test_reading_cells_writes_nothing(redis_client, tmp_path):
    """Cells are cut on read: nothing is stored under a cell ref, so expiry and purging see only the grid."""
    redis_store, file_store = RedisBlobStore(redis_client, 60), FileBlobStore(tmp_path, 60)
    grids = [store_grid(store, noise_images(4)) for store in (redis_store, file_store)]
    for store, grid in zip((redis_store, file_store), grids, strict=True):
        assert all(store.get(cell_ref(grid, index)) is not None for index in range(4))
    assert [key.decode() for key in redis_client.scan_iter(keys.blob_key("*"))] == [keys.blob_key(grids[0])]
    assert [path.name for path in tmp_path.iterdir()] == [grids[1]]
