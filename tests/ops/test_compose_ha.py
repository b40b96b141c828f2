"""docker-compose.yml's `ha` profile: `redis` as primary, a replica and three sentinels, their sentinel
config checked by a real redis-server in sentinel mode (Docker itself does not run on CI machines)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
import redis
import yaml

from midway.redis_urls import parse_sentinel_url
from ops.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def ha_services(compose: dict) -> dict[str, dict]:
    return {name: service for name, service in compose["services"].items() if "ha" in service.get("profiles", [])}


def test_the_ha_profile_is_a_replica_of_redis_and_three_sentinels_with_a_quorum_of_two(compose):
    services = ha_services(compose)
    assert sorted(services) == ["redis-replica", "sentinel-1", "sentinel-2", "sentinel-3"]
    replica = " ".join(services["redis-replica"]["command"])
    assert "--replicaof redis 6379" in replica and "--appendonly yes" in replica
    assert any(volume.endswith(":/data") for volume in services["redis-replica"]["volumes"])
    for name in ("sentinel-1", "sentinel-2", "sentinel-3"):
        script = services[name]["command"][-1]
        assert "sentinel monitor mymaster redis 6379 2" in script and "--sentinel" in script
        assert "26379" in " ".join(services[name]["healthcheck"]["test"])
    # Without the profile nothing changes: one Redis, and REDIS_URL can point elsewhere.
    assert "profiles" not in compose["services"]["redis"]


def test_the_documented_sentinel_url_names_the_ha_profiles_sentinels(compose):
    header = (ROOT / "docker-compose.yml").read_text().split("\nname:", 1)[0]
    url = next(word for line in header.splitlines() for word in line.split()
               if word.startswith("REDIS_URL=redis+sentinel://")).removeprefix("REDIS_URL=")
    target = parse_sentinel_url(url)
    assert sorted(host for host, _ in target.sentinels) == sorted(
        name for name in ha_services(compose) if name.startswith("sentinel"))
    assert {port for _, port in target.sentinels} == {26379} and target.service_name == "mymaster"


def test_the_sentinels_script_starts_a_sentinel_that_watches_the_primary(compose, tmp_path):
    """The compose service's own script, run by sh with `redis` and /data pointed at this machine."""
    primary_port, sentinel_port = free_port(), free_port()
    primary = subprocess.Popen(["redis-server", "--port", str(primary_port), "--bind", "127.0.0.1", "--save", "",
                                "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    script = (compose["services"]["sentinel-1"]["command"][-1]
              .replace("/data/", f"{tmp_path}/").replace("mymaster redis 6379", f"mymaster 127.0.0.1 {primary_port}")
              .replace("port 26379", f"port {sentinel_port}\nbind 127.0.0.1"))
    sentinel = subprocess.Popen(["sh", "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=sentinel_port, decode_responses=True, socket_timeout=1)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                state = client.sentinel_master("mymaster")
                break
            except redis.ConnectionError:
                assert sentinel.poll() is None, (tmp_path / "sentinel.conf").read_text()
                assert time.monotonic() < deadline, "the sentinel did not start"
                time.sleep(0.05)
        assert (state["ip"], int(state["port"]), int(state["quorum"])) == ("127.0.0.1", primary_port, 2)
        assert int(state["down-after-milliseconds"]) == 5000
    finally:
        client.close()
        for process in (sentinel, primary):
            process.kill()
            process.wait()
