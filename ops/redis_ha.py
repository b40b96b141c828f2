"""A Redis primary, its replica and three sentinels as local processes (tests, and trying a failover by hand).

Production runs these on separate machines (docker-compose.yml's `ha` profile shows the shape). Here
they are the same redis-server binary as ops/redis_server.py (`--sentinel` turns it into a sentinel:
Debian's redis-sentinel package is that binary too), on free ports under one folder, with failure
detection shortened (`down_after_ms`) so that a test sees a failover within a few seconds.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from ops.redis_server import LocalRedis, RedisUnavailable, free_port
from ops.supervisor import die_with_parent

SERVICE_NAME = "mymaster"


@dataclass
class SentinelSet:
    base_dir: Path
    password: str | None = None
    down_after_ms: int = 500
    failover_timeout_ms: int = 2000
    primary: LocalRedis = field(init=False)
    replica: LocalRedis = field(init=False)
    sentinel_ports: list[int] = field(default_factory=list)
    sentinels: list[subprocess.Popen] = field(default_factory=list)

    @property
    def url(self) -> str:
        """REDIS_URL for Midway: the sentinels, the primary's name, database 0."""
        auth = f":{self.password}@" if self.password else ""
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)
        return f"redis+sentinel://{auth}{hosts}/{SERVICE_NAME}/0"

    def start(self, timeout_s: float = 15.0) -> SentinelSet:
        auth = ["--requirepass", self.password, "--masterauth", self.password] if self.password else []
        self.primary = LocalRedis(port=free_port(), data_dir=self.base_dir / "primary", password=self.password)
        # A replica's first sync otherwise waits 5 s for more replicas to share it (diskless sync).
        self.primary.start(persist=True, extra_args=[*auth, "--repl-diskless-sync-delay", "0"])
        self.replica = LocalRedis(port=free_port(), data_dir=self.base_dir / "replica", password=self.password)
        self.replica.start(persist=True, extra_args=[*auth, "--replicaof", "127.0.0.1", str(self.primary.port)])
        try:
            for index in range(3):
                self._start_sentinel(index)
            self._wait_until_in_sync(timeout_s)
            self._wait_until_watched(timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def _start_sentinel(self, index: int) -> None:
        port = free_port()
        folder = self.base_dir / f"sentinel-{index}"
        folder.mkdir(parents=True, exist_ok=True)
        # Sentinel rewrites its config file (what it learns of replicas and peers), so each has its own.
        lines = [f"port {port}", "bind 127.0.0.1", f"dir {folder}", f"logfile {folder / 'sentinel.log'}",
                 f"sentinel monitor {SERVICE_NAME} 127.0.0.1 {self.primary.port} 2",
                 f"sentinel down-after-milliseconds {SERVICE_NAME} {self.down_after_ms}",
                 f"sentinel failover-timeout {SERVICE_NAME} {self.failover_timeout_ms}",
                 f"sentinel parallel-syncs {SERVICE_NAME} 1"]
        if self.password:
            lines.append(f"sentinel auth-pass {SERVICE_NAME} {self.password}")
        config = folder / "sentinel.conf"
        config.write_text("\n".join(lines) + "\n")
        binary = shutil.which("redis-server")
        if binary is None:
            raise RedisUnavailable("redis-server is not installed: run scripts/install.sh (it uses apt-get)")
        self.sentinels.append(subprocess.Popen([binary, str(config), "--sentinel"], stdout=subprocess.DEVNULL,
                                               stderr=subprocess.DEVNULL, start_new_session=True,
                                               preexec_fn=die_with_parent()))
        self.sentinel_ports.append(port)

    def _wait_until_in_sync(self, timeout_s: float) -> None:
        """Until the replica has finished its first sync: before that it has nothing to fail over to."""
        deadline = time.monotonic() + timeout_s
        client = redis.Redis(port=self.replica.port, password=self.password, socket_timeout=1, decode_responses=True)
        try:
            while client.info("replication").get("master_link_status") != "up":
                if time.monotonic() > deadline:
                    raise RedisUnavailable(f"the replica did not sync within {timeout_s:.0f} s: see {self.base_dir}")
                time.sleep(0.05)
        finally:
            client.close()

    def _wait_until_watched(self, timeout_s: float) -> None:
        """Until every sentinel knows the primary, its replica and the other two sentinels: before that
        a failover could not reach its quorum."""
        deadline = time.monotonic() + timeout_s
        for port in self.sentinel_ports:
            client = redis.Redis(port=port, socket_timeout=1, decode_responses=True)
            try:
                while True:
                    try:
                        state: Any = client.sentinel_master(SERVICE_NAME)
                        if int(state.get("num-slaves", 0)) >= 1 and int(state.get("num-other-sentinels", 0)) >= 2:
                            break
                    except redis.RedisError:
                        pass
                    if time.monotonic() > deadline:
                        raise RedisUnavailable(f"the sentinel on port {port} did not see the whole set in "
                                               f"{timeout_s:.0f} s: see {self.base_dir}")
                    time.sleep(0.1)
            finally:
                client.close()

    def primary_port(self) -> int:
        """The port the sentinels now name as primary."""
        client = redis.Redis(port=self.sentinel_ports[0], socket_timeout=1, decode_responses=True)
        try:
            address: Any = client.sentinel_get_master_addr_by_name(SERVICE_NAME)
            return int(address[1])
        finally:
            client.close()

    def kill_primary(self) -> None:
        """SIGKILL the primary: no shutdown, no last save, whatever the replica has not got is gone."""
        process = self.primary.process
        if process is not None:
            process.kill()
            process.wait()
            self.primary.process = None

    def wait_for_failover(self, timeout_s: float = 30.0) -> int:
        """Until every sentinel names the replica as a healthy primary and it accepts writes; returns its port.

        Healthy, not merely named: right after the switch each sentinel links to the new primary afresh,
        and with a short down-after-milliseconds it may flag it down for a moment, when clients asking
        it find no primary at all."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if self._all_name_healthy(self.replica.port) and self._writable(self.replica):
                    return self.replica.port
            except redis.RedisError:
                pass
            if time.monotonic() > deadline:
                raise RedisUnavailable(f"no failover within {timeout_s:.0f} s: see {self.base_dir}")
            time.sleep(0.1)

    def _all_name_healthy(self, port: int) -> bool:
        for sentinel_port in self.sentinel_ports:
            client = redis.Redis(port=sentinel_port, socket_timeout=1, decode_responses=True)
            try:
                state: Any = client.sentinel_master(SERVICE_NAME)
            finally:
                client.close()
            if int(state["port"]) != port or set(state["flags"].split(",")) != {"master"}:
                return False
        return True

    def _writable(self, server: LocalRedis) -> bool:
        client = redis.Redis(port=server.port, password=self.password, socket_timeout=1, decode_responses=True)
        try:
            return client.info("replication").get("role") == "master"
        finally:
            client.close()

    def stop(self) -> None:
        for process in self.sentinels:
            if process.poll() is None:
                process.kill()
            process.wait()
        self.sentinels.clear()
        for server in (getattr(self, "replica", None), getattr(self, "primary", None)):
            if server is not None:
                server.stop()
