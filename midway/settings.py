"""Settings from environment variables and `.env` (pydantic-settings).

Every setting has an env var named MIDWAY_<NAME> except the well-known DISCORD_TOKEN and REDIS_URL.
The README's settings table and `.env.example` document each one.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from midway.sharding import ShardSet, shard_set

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# MIDWAY_BLOB_STORE's values (midway/blobs.py blob_store() builds the store): the canonical name, and
# the spellings accepted for it.
BLOB_STORES = {"redis": "redis", "fs": "fs", "file": "fs", "files": "fs"}
# Settings whose values are never echoed in an error (a token; a password inside a URL).
_SECRET_SETTINGS = ("discord_token", "redis_url", "playground_token")


class SettingsError(ValueError):
    """A setting (an env var or `.env` line) with a value that cannot work; the message names it."""


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
    # The user's catalogue copy (`midway models add` writes it), merged over the catalogue above; unset:
    # <state_dir>/catalogue.toml, read when it exists.
    user_catalogue: Path | None = None
    # The offline engines: the latent-diffusion `tiny`, the DALL·E 2-style `tiny-unclip` and the BLIP
    # captioner `tiny-caption` that /describe runs on.
    engines: str = "tiny,tiny-unclip,tiny-caption"
    default_engine: str = "tiny"
    # /describe's captioner (a `caption` catalogue entry, e.g. blip); a worker must serve it.
    caption_engine: str = "tiny-caption"
    # Hosts (`host` or `host:port`, comma-separated) whose image links may be fetched although they are
    # private or local addresses (midway/fetch.py refuses those otherwise): the playground's own address.
    fetch_allow_hosts: str = ""

    # Prompt grammar caps.
    max_permutations: int = 10
    max_repeat: int = 4
    confirm_above: int = 4

    # Images: where blobs live and for how long.
    blob_store: str = "redis"  # "redis" or "fs" (BLOB_STORES)
    blob_dir: Path | None = None
    image_ttl_s: int = 7 * 24 * 3600

    # Worker behaviour.
    progress_interval_s: float = 1.0
    job_timeout_s: int = 600
    max_attempts: int = 3
    heartbeat_s: float = 5.0
    # A finished job's images and status are written through a Redis outage (a restart) for this long.
    redis_retry_s: float = 60.0
    # Redis high availability: a submitted job is acknowledged to its user, and a finished job's result
    # recorded, once this many replicas confirm they have it (Redis WAIT, up to redis_wait_ms), so a
    # failover to a replica cannot lose it. -1: 1 with a Sentinel REDIS_URL, 0 (no wait) otherwise.
    redis_wait_replicas: int = -1
    redis_wait_ms: int = 1000
    # A job this far past its timeout is stuck where the timeout signal cannot reach it (a wedged CUDA
    # call): its worker exits, so the job's lease lapses and another worker retries it.
    hang_grace_s: float = 60.0
    # This many jobs in a row failing with unexpected errors (a sticky CUDA error fails every later
    # call) make the worker put the last one back and exit, to be restarted; 0: never.
    max_errors_in_a_row: int = 3

    # The safety filter every image job's outputs pass on the worker (worker/safety.py): "auto" (the CompVis
    # checker when the worker serves a real engine, the tiny random-weight one when it serves only tiny
    # engines), a hub id, a folder, "tiny-safety-checker", or "off".
    safety_checker: str = "auto"
    # Images scoring above this are flagged (engines/safety.py: 0.5 is the checker's own line; 0 flags every
    # image, 1 none).
    safety_threshold: float = Field(default=0.5, ge=0.0, le=1.0)

    # GPU memory a worker's resident engines may hold (worker/residency.py): GB, or a fraction of the
    # device's memory (on a CPU, of the machine's). Unset: every engine stays resident. Past it the least
    # recently used engines move off the device until the one a job needs fits.
    gpu_memory_gb: float | None = None
    gpu_memory_fraction: float | None = None

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

    # Gateway sharding (midway/sharding.py): the total shard count and the shards this bot process holds
    # ("0,1"; empty: all of them). Unset: one unsharded session.
    shard_count: int | None = None
    shard_ids: str = ""
    # An event-stream entry another bot process read but has not acknowledged for this long is taken over:
    # that process died mid-delivery (midway/events.py). Live ones ack within seconds.
    event_claim_idle_s: float = 60.0

    log_level: str = "INFO"

    @model_validator(mode="after")
    def _shards_fit(self) -> Settings:
        shard_set(self.shard_count, self.shard_ids)  # ValueError naming the bad value
        return self

    @property
    def shards(self) -> ShardSet:
        return shard_set(self.shard_count, self.shard_ids)

    @field_validator("blob_store", mode="before")
    @classmethod
    def _known_blob_store(cls, value: object) -> str:
        kind = value.strip().lower() if isinstance(value, str) else value
        if kind not in BLOB_STORES:
            raise ValueError("must be 'redis' or 'fs'")
        return BLOB_STORES[kind]

    @field_validator("gpu_memory_gb")
    @classmethod
    def _positive_memory(cls, value: float | None) -> float | None:
        if value is not None and value <= 0:
            raise ValueError("must be a positive number of GB")
        return value

    @field_validator("gpu_memory_fraction")
    @classmethod
    def _memory_fraction(cls, value: float | None) -> float | None:
        if value is not None and not 0 < value <= 1:
            raise ValueError("must be a fraction in (0, 1]")
        return value

    @property
    def resolved_user_catalogue(self) -> Path:
        return self.user_catalogue or self.state_dir / "catalogue.toml"

    @property
    def resolved_blob_dir(self) -> Path:
        return self.blob_dir or self.state_dir / "blobs"

    @property
    def engine_list(self) -> list[str]:
        return [name.strip() for name in self.engines.split(",") if name.strip()]


def env_name(field: str) -> str:
    """The env var a user sets for `field` (MIDWAY_<NAME>, or DISCORD_TOKEN / REDIS_URL)."""
    info = Settings.model_fields.get(field)
    alias = info.validation_alias if info is not None else None
    if isinstance(alias, AliasChoices) and isinstance(alias.choices[0], str):
        return alias.choices[0]
    return f"MIDWAY_{field.upper()}"


def _field_named(name: str) -> str:
    """The field a pydantic error location names: the field itself or one of its env-var aliases."""
    for field, info in Settings.model_fields.items():
        alias = info.validation_alias
        choices = alias.choices if isinstance(alias, AliasChoices) else ()
        if name.lower() in (field, *(str(choice).lower() for choice in choices)):
            return field
    return name


def settings_error(error: ValidationError) -> SettingsError:
    """pydantic's report -> one line per bad setting, named as the user sets it; secrets not echoed."""
    lines = []
    for problem in error.errors():
        field = _field_named(str(problem["loc"][0])) if problem["loc"] else ""
        name = env_name(field) if field else "settings"
        shown = "" if field in _SECRET_SETTINGS or "input" not in problem else f"={problem['input']!r}"
        message = problem["msg"].removeprefix("Value error, ")
        lines.append(f"bad setting {name}{shown}: {message}")
    return SettingsError("; ".join(lines))


def load_settings(**values: object) -> Settings:
    """Settings() with SettingsError (a clear message naming the setting) instead of pydantic's report."""
    try:
        return Settings(**values)  # type: ignore[arg-type]
    except ValidationError as error:
        raise settings_error(error) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings; SettingsError (a ValueError) for a value that cannot work."""
    return load_settings()
