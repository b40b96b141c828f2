"""Start and stop a local `redis-server` (tests, `midway up`, benchmarks).

Production points REDIS_URL at a managed Redis; this is for one machine. The server is a real
redis-server binary (installed by scripts/install.sh), never an in-process fake.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import redis

from ops.supervisor import die_with_parent


class RedisUnavailable(RuntimeError):
    pass


class PortInUse(RedisUnavailable):
    """Another server holds the port: our redis-server could not listen there, so nothing was started."""


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something listens on host:port (a bind test; SO_REUSEADDR so TIME_WAIT does not count)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LocalRedis:
    port: int
    data_dir: Path
    # The server's `requirepass` (pass `--requirepass` in extra_args too): the URL carries it.
    password: str | None = None
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        auth = f":{quote(self.password, safe='')}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self, *, persist: bool = False, timeout_s: float = 10.0, extra_args: Sequence[str] = ()) -> LocalRedis:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RedisUnavailable("redis-server is not installed: run scripts/install.sh (it uses apt-get)")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if port_in_use(self.port):
            raise PortInUse(f"port {self.port} is already in use by another program, so redis-server cannot "
                            "listen there: stop that program or choose another port")
        if persist:
            persistence = ["--appendonly", "yes", "--save", "60 1"]
        else:
            persistence = ["--appendonly", "no", "--save", ""]
        command = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.data_dir),
                   "--daemonize", "no", "--logfile", str(self.data_dir / "redis.log"), *persistence, *extra_args]
        # Own session: Ctrl-C in a terminal reaches the parent, which stops us in order. It also dies
        # with its parent (Linux), so a killed parent leaves no Redis holding the port.
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True, preexec_fn=die_with_parent())
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + timeout_s
        try:
            while True:
                try:
                    server_pid = client.info("server").get("process_id")
                    break
                except redis.ConnectionError as error:
                    if self.process.poll() is not None or time.monotonic() > deadline:
                        self.stop()
                        raise RedisUnavailable(f"redis-server did not start on port {self.port}: "
                                               f"see {self.data_dir / 'redis.log'}") from error
                    time.sleep(0.02)
        finally:
            client.close()
        # A ping alone is not enough: another Redis on this port answers it while ours exits with
        # "Address already in use", and we would silently use (and trust) a server that is not ours.
        if self.process.poll() is not None or server_pid != self.process.pid:
            self.stop()
            raise PortInUse(f"port {self.port} is already used by another Redis (pid {server_pid}), so our "
                            "redis-server could not listen there: stop that server or choose another port")
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
