"""Both blob stores: round trip, refs that are safe names, expiry after the TTL."""

from __future__ import annotations

import time

import pytest

from midway import keys
from midway.blobs import FileBlobStore, RedisBlobStore, blob_store, content_type, is_ref
from midway.settings import Settings


@pytest.fixture(params=["redis", "fs"])
def blobs(request, redis_client, tmp_path):
    if request.param == "redis":
        return RedisBlobStore(redis_client, default_ttl_s=60)
    return FileBlobStore(tmp_path / "blobs", default_ttl_s=60)


def test_round_trip_keeps_bytes_and_type(blobs):
    ref = blobs.put(b"\x89PNG fake", content_type="image/png")
    webp = blobs.put(b"RIFF fake", content_type="image/webp")
    assert blobs.get(ref) == b"\x89PNG fake"
    assert content_type(ref) == "image/png" and content_type(webp) == "image/webp"
    assert is_ref(ref) and ref != webp


def test_expires_after_its_ttl(blobs):
    short = blobs.put(b"short", ttl_s=1)
    long = blobs.put(b"long", ttl_s=30)
    time.sleep(1.2)
    assert blobs.get(short) is None
    assert blobs.get(long) == b"long"


def test_unknown_and_hostile_refs_read_as_missing(blobs):
    assert blobs.get("0" * 32 + ".png") is None
    assert blobs.get("../../etc/passwd") is None


def test_redis_store_sets_the_ttl_on_the_key(redis_client):
    ref = RedisBlobStore(redis_client, default_ttl_s=100).put(b"x")
    assert 90 < redis_client.ttl(keys.blob_key(ref)) <= 100


def test_filesystem_store_purges_expired_files(tmp_path):
    store = FileBlobStore(tmp_path, default_ttl_s=60)
    store.put(b"old", ttl_s=1)
    kept = store.put(b"new")
    time.sleep(1.2)
    assert store.purge_expired() == 1
    assert [path.name for path in tmp_path.iterdir()] == [kept]


def test_settings_choose_the_store(redis_client, tmp_path):
    assert isinstance(blob_store(Settings(blob_store="redis"), redis_client), RedisBlobStore)
    chosen = blob_store(Settings(blob_store="fs", blob_dir=tmp_path, image_ttl_s=5), redis_client)
    assert isinstance(chosen, FileBlobStore) and chosen.directory == tmp_path and chosen.default_ttl_s == 5
    with pytest.raises(ValueError, match="'s3'"):
        blob_store(Settings(blob_store="s3"), redis_client)


def test_worker_purges_a_filesystem_store_but_not_redis(redis_client, tmp_path):
    from worker.main import purger

    assert purger(RedisBlobStore(redis_client, 60)) is None
    store = FileBlobStore(tmp_path, default_ttl_s=60)
    store.put(b"old", ttl_s=1)
    time.sleep(1.2)
    purger(store, every_s=0)()
    assert list(tmp_path.iterdir()) == []
