"""A submit is acknowledged once the replica has it (midway/replication.py), measured against a real
replica: a stopped one (SIGSTOP) confirms nothing, and a running one confirms every submit."""

from __future__ import annotations

import os
import signal

from midway.jobs import JobStore
from midway.redis_clients import sync_redis

from .conftest import new_job, settings_for


def test_a_submit_is_confirmed_by_the_replica_and_not_while_it_is_stopped(sentinel_set, state_dir, caplog):
    client = sync_redis(sentinel_set.url)
    store = JobStore(client, settings_for(sentinel_set.url, state_dir, redis_wait_ms=300))
    try:
        store.submit(new_job())
        assert store.replicas.confirm("a check") == 1
        replica = sentinel_set.replica.process
        os.kill(replica.pid, signal.SIGSTOP)
        try:
            # The job is written on the primary; the replica cannot have it, and WAIT must say so.
            job = store.submit(new_job())
            assert f"job {job.id}: 0 of 1 replicas confirmed it within 300 ms" in caplog.text
        finally:
            os.kill(replica.pid, signal.SIGCONT)
        assert store.replicas.confirm("after the replica is back") == 1
    finally:
        client.close()


def test_without_replicas_wanted_a_submit_does_not_wait(redis_url, state_dir):
    client = sync_redis(redis_url)
    try:
        store = JobStore(client, settings_for(redis_url, state_dir))
        assert store.replicas.wanted == 0 and store.replicas.confirm("plain Redis") == 0
    finally:
        client.close()
