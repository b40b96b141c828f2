"""Start and stop a local `redis-server` (tests, `midway up`, benchmarks).

Production points REDIS_URL at a managed Redis; this is for one machine. The server is a real
redis-server binary (installed by scripts/install.sh), never an in-process fake.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis


class RedisUnavailable(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LocalRedis:
    port: int
    data_dir: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, *, persist: bool = False, timeout_s: float = 10.0) -> LocalRedis:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RedisUnavailable("redis-server is not installed: run scripts/install.sh (it uses apt-get)")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if persist:
            persistence = ["--appendonly", "yes", "--save", "60 1"]
        else:
            persistence = ["--appendonly", "no", "--save", ""]
        command = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.data_dir),
                   "--daemonize", "no", "--logfile", str(self.data_dir / "redis.log"), *persistence]
        # Own session: Ctrl-C in a terminal reaches the parent, which stops us in order.
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                client.ping()
                return self
            except redis.ConnectionError as error:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RedisUnavailable(f"redis-server did not start on port {self.port}: "
                                           f"see {self.data_dir / 'redis.log'}") from error
                time.sleep(0.02)
            finally:
                client.close()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
