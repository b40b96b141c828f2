"""docker-compose.yml has the production shape (Docker itself does not run on CI machines)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_redis_persists_with_aof_on_a_volume_and_has_a_healthcheck(compose):
    redis = compose["services"]["redis"]
    assert "--appendonly" in redis["command"] and "yes" in redis["command"]
    assert any(volume.endswith(":/data") for volume in redis["volumes"])
    assert "redis-cli" in redis["healthcheck"]["test"]


def test_every_worker_reserves_its_own_nvidia_gpu(compose):
    workers = {name: svc for name, svc in compose["services"].items() if name.startswith("worker")}
    assert len(workers) >= 2
    gpu_ids = []
    for service in workers.values():
        (device,) = service["deploy"]["resources"]["reservations"]["devices"]
        assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
        gpu_ids += device["device_ids"]
        assert "midway worker" in " ".join(service["command"])
        assert any(":/models/huggingface" in volume for volume in service["volumes"])
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
        assert "healthcheck" in service
    assert len(gpu_ids) == len(set(gpu_ids)), "two workers would share one GPU"


def test_bot_runs_the_slim_image_and_waits_for_redis(compose):
    bot = compose["services"]["bot"]
    assert bot["build"]["dockerfile"] == "docker/bot.Dockerfile"
    # One Redis unless REDIS_URL (in .env) names another, such as the `ha` profile's sentinels.
    assert bot["environment"]["REDIS_URL"].startswith("${REDIS_URL:-redis://redis:")
    assert bot["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "healthcheck" in bot


def test_named_volumes_are_declared(compose):
    used = {
        volume.split(":")[0]
        for service in compose["services"].values()
        for volume in service.get("volumes", [])
        if not volume.startswith((".", "/"))
    }
    assert used <= set(compose["volumes"])


def test_bot_image_has_no_torch_and_worker_image_has_cuda():
    def instructions(name: str) -> str:
        lines = (ROOT / "docker" / name).read_text().splitlines()
        return "\n".join(line for line in lines if not line.lstrip().startswith("#")).lower()

    bot, worker = instructions("bot.Dockerfile"), instructions("worker.Dockerfile")
    assert "run pip install .\n" in bot and "[engines]" not in bot and "cuda" not in bot
    assert "copy midway" in bot and "copy engines" not in bot and "copy worker" not in bot
    assert "from pytorch/pytorch" in worker and "cuda" in worker and '".[engines]"' in worker


def test_core_dependencies_are_torch_free():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"]).lower()
    assert "torch" not in core and "diffusers" not in core and "numpy" not in core
    assert any(dep.startswith("torch") for dep in project["optional-dependencies"]["engines"])


def test_the_bots_default_engine_is_one_the_gpu_worker_serves(compose):
    # Without it, every /imagine in a channel nobody ran /engine set in would wait for a worker forever.
    import re

    def default(value: str) -> str:
        match = re.fullmatch(r"\$\{(\w+):-([\w,.-]+)\}", value)
        assert match, f"expected ${{NAME:-default}}, got {value!r}"
        return match[2]

    bot_env = compose["services"]["bot"]["environment"]
    worker = compose["services"]["worker-gpu0"]
    served = default(worker["environment"]["MIDWAY_ENGINES"]).split(",")
    assert default(bot_env["MIDWAY_DEFAULT_ENGINE"]) in served
    assert "$${MIDWAY_ENGINES" in " ".join(worker["command"]) or "--engines" not in " ".join(worker["command"])


def test_worker_torch_is_new_enough_for_transformers_5():
    # transformers 5 turns its PyTorch support off below 2.6: CLIP and T5 would not load.
    import re

    base = re.search(r"^FROM pytorch/pytorch:(\d+)\.(\d+)", (ROOT / "docker" / "worker.Dockerfile").read_text(), re.M)
    assert base and (int(base[1]), int(base[2])) >= (2, 6)
