"""Settings that cannot work fail when settings load, with a message naming the env var."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from midway.settings import Settings, SettingsError, get_settings, load_settings


@pytest.mark.parametrize(("value", "store"), [("redis", "redis"), (" FS ", "fs"), ("files", "fs"), ("Redis", "redis")])
def test_blob_store_takes_redis_or_fs(value, store):
    assert Settings(_env_file=None, blob_store=value).blob_store == store


@pytest.mark.parametrize("value", ["bogus", "s3", ""])
def test_an_unknown_blob_store_fails_when_settings_load(value):
    with pytest.raises(ValidationError, match="must be 'redis' or 'fs'"):
        Settings(_env_file=None, blob_store=value)


def test_get_settings_names_the_env_var_of_a_bad_setting(monkeypatch):
    monkeypatch.setenv("MIDWAY_BLOB_STORE", "bogus")
    monkeypatch.setenv("MIDWAY_MAX_ATTEMPTS", "many")
    get_settings.cache_clear()
    try:
        with pytest.raises(SettingsError) as caught:
            get_settings()
    finally:
        get_settings.cache_clear()
    message = str(caught.value)
    assert "MIDWAY_BLOB_STORE='bogus': must be 'redis' or 'fs'" in message
    assert "MIDWAY_MAX_ATTEMPTS='many'" in message
    assert "\n" not in message and "errors.pydantic.dev" not in message


def test_a_bad_setting_message_never_shows_a_secret_value(monkeypatch):
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None, redis_url=["redis://:hunter2@host"])
    assert "REDIS_URL" in str(caught.value) and "hunter2" not in str(caught.value)


def test_midway_generate_reports_a_bad_blob_store_cleanly(tmp_path):
    env = dict(os.environ, MIDWAY_STATE_DIR=str(tmp_path), MIDWAY_BLOB_STORE="bogus", OMP_NUM_THREADS="1",
               HF_HUB_OFFLINE="1")
    result = subprocess.run([sys.executable, "-m", "cli", "generate", "-o", str(tmp_path / "x.png"), "a fox"],
                            capture_output=True, text=True, env=env, timeout=240)
    assert result.returncode == 2, result.stderr
    assert "MIDWAY_BLOB_STORE='bogus'" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("command", [["submit", "a fox"], ["worker", "--burst", "--engines", "tiny"]])
def test_submit_and_worker_stop_at_a_bad_setting_before_any_work(tmp_path, command):
    env = dict(os.environ, MIDWAY_STATE_DIR=str(tmp_path), MIDWAY_BLOB_STORE="bogus", HF_HUB_OFFLINE="1")
    result = subprocess.run([sys.executable, "-m", "cli", *command], capture_output=True, text=True, env=env,
                            timeout=120)
    assert result.returncode == 2, result.stderr
    assert f"midway {command[0]}: bad setting MIDWAY_BLOB_STORE='bogus'" in result.stderr
    assert "Traceback" not in result.stderr
