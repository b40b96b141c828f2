"""Settings from environment variables and `.env` (pydantic-settings).

Every setting has an env var named MIDWAY_<NAME> except the well-known DISCORD_TOKEN and REDIS_URL.
The README's settings table and `.env.example` document each one.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MIDWAY_", env_file=".env", extra="ignore", env_ignore_empty=True)

    # Connections and secrets. SecretStr keeps the token out of reprs and logs.
    discord_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("DISCORD_TOKEN", "MIDWAY_DISCORD_TOKEN")
    )
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "MIDWAY_REDIS_URL")
    )

    # Port of the redis-server `midway up` starts when REDIS_URL is not set.
    embedded_redis_port: int = 6390

    # Where local state lives (embedded redis data, blob files, tiny model cache, pid files).
    state_dir: Path = PROJECT_ROOT / ".state"

    # Engines: the catalogue file and the engines a worker serves by default.
    catalogue: Path | None = None
    # The offline engines: the latent-diffusion `tiny` and the DALL·E 2-style `tiny-unclip`.
    engines: str = "tiny,tiny-unclip"
    default_engine: str = "tiny"

    # Prompt grammar caps.
    max_permutations: int = 10
    max_repeat: int = 4
    confirm_above: int = 4

    # Images: where blobs live and for how long.
    blob_store: str = "redis"  # "redis" or "fs"
    blob_dir: Path | None = None
    image_ttl_s: int = 7 * 24 * 3600

    # Worker behaviour.
    progress_interval_s: float = 1.0
    job_timeout_s: int = 600
    max_attempts: int = 3
    heartbeat_s: float = 5.0
    # A finished job's images and status are written through a Redis outage (a restart) for this long.
    redis_retry_s: float = 60.0
    # A job this far past its timeout is stuck where the timeout signal cannot reach it (a wedged CUDA
    # call): its worker exits, so the job's lease lapses and another worker retries it.
    hang_grace_s: float = 60.0
    # This many jobs in a row failing with unexpected errors (a sticky CUDA error fails every later
    # call) make the worker put the last one back and exit, to be restarted; 0: never.
    max_errors_in_a_row: int = 3

    # Per-user caps (Midjourney's: 3 running, 10 queued).
    max_running_per_user: int = 3
    max_queued_per_user: int = 10

    # Playground (the local Discord emulator).
    playground_host: str = "127.0.0.1"
    playground_port: int = 8765
    playground_token: str = "midway-playground-token"

    # Prometheus metrics ports (0 disables).
    bot_metrics_port: int = 0
    worker_metrics_port: int = 0

    log_level: str = "INFO"

    @property
    def resolved_blob_dir(self) -> Path:
        return self.blob_dir or self.state_dir / "blobs"

    @property
    def engine_list(self) -> list[str]:
        return [name.strip() for name in self.engines.split(",") if name.strip()]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
