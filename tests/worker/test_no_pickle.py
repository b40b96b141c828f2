"""Nothing pickled reaches Redis: after real jobs, every value is JSON, plain text, or image bytes."""

from __future__ import annotations

import json
import zlib

from midway import keys

from .conftest import ScriptedEngine, new_job

IMAGE_MAGIC = (b"\x89PNG", b"RIFF", b"\xff\xd8")


def assert_json(raw: bytes, where: str) -> None:
    try:
        json.loads(raw)
    except ValueError as error:
        raise AssertionError(f"{where} is not JSON: {raw[:60]!r}") from error


def assert_plain(raw: bytes, where: str) -> None:
    assert not raw.startswith(b"\x80"), f"{where} looks pickled: {raw[:60]!r}"
    raw.decode("utf-8")  # text, not a binary serialisation


def check_hash(client, key: str) -> None:
    for field, raw in client.hgetall(key).items():
        where = f"{key}[{field.decode()}]"
        if field in (b"data", b"exc_info"):  # RQ zlib-compresses these; inside must be JSON / text
            inner = zlib.decompress(raw)
            (assert_json if field == b"data" else assert_plain)(inner, where)
        else:
            assert_plain(raw, where)


def check_key(client, key: str) -> int:
    kind = client.type(key).decode()
    if kind == "string":
        raw = client.get(key)
        if key.startswith(f"{keys.PREFIX}:blob:"):
            assert raw.startswith(IMAGE_MAGIC), f"{key} is not an image"
        elif key.startswith(f"{keys.PREFIX}:"):
            assert_json(raw, key)
        else:
            assert_plain(raw, key)
    elif kind == "hash":
        check_hash(client, key)
    elif kind == "stream":
        for entry_id, fields in client.xrange(key):
            for field, raw in fields.items():
                check = assert_json if key == keys.EVENTS_STREAM else assert_plain
                check(raw, f"{key}/{entry_id.decode()}/{field.decode()}")
    elif kind in ("list", "set", "zset"):
        members = {"list": lambda: client.lrange(key, 0, -1), "set": lambda: client.smembers(key),
                   "zset": lambda: client.zrange(key, 0, -1)}[kind]()
        for member in members:
            assert_plain(member, key)
    return 1


def test_redis_holds_only_json_text_and_images(store, make_worker, tiny_engine, redis_client, consumer):
    from worker.rq_worker import serve

    worker = make_worker({"tiny": tiny_engine, "broken": ScriptedEngine(fail_with=RuntimeError("x"))})
    store.submit(new_job(size=32, steps=2))
    store.submit(new_job(engine="broken"))
    store.cancel(store.submit(new_job(user="u2", size=32)).id)
    serve(worker, burst=True)
    checked = [check_key(redis_client, key.decode()) for key in redis_client.scan_iter(count=1000)]
    job_records = list(redis_client.scan_iter(f"{keys.PREFIX}:job:*"))
    rq_jobs = list(redis_client.scan_iter("rq:job:*"))
    assert len(job_records) == 3 and rq_jobs and len(checked) > 10
