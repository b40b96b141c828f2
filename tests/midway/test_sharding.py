"""Shard sets: parsed and checked with the bad value named, split across processes, and who syncs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from midway.settings import PROJECT_ROOT, SettingsError, load_settings
from midway.sharding import ShardSet, parse_shard_ids, shard_count_for, shard_set, split_shards


def test_shard_ids_are_parsed_sorted_and_checked_against_the_count() -> None:
    assert parse_shard_ids(" 3, 1 ", 4) == (1, 3)
    assert parse_shard_ids("", 4) == ()
    for text, count, named in [("4", 4, "outside 0-3"), ("x", 4, "'x'"), ("1,1", 4, "twice"),
                               ("0", None, "need a shard count")]:
        with pytest.raises(ValueError, match=named):
            parse_shard_ids(text, count)
    with pytest.raises(ValueError, match="at least 1"):
        shard_set(0, "")


def test_every_shard_goes_to_exactly_one_process() -> None:
    for count in range(1, 9):
        for processes in range(1, count + 1):
            split = split_shards(count, processes)
            assert len(split) == processes and all(split)
            assert sorted(i for ids in split for i in ids) == list(range(count))
    with pytest.raises(ValueError):
        split_shards(2, 3)
    assert shard_count_for(2, 1) == 2 and shard_count_for(2, 5) == 5 and shard_count_for(1, 1) == 1


def test_only_the_holder_of_shard_zero_syncs_and_names_are_distinct() -> None:
    assert ShardSet().syncs_commands and ShardSet().label == ""
    assert ShardSet(4).held == (0, 1, 2, 3) and ShardSet(4).syncs_commands
    assert ShardSet(4, (0, 2)).syncs_commands and not ShardSet(4, (1, 3)).syncs_commands
    assert ShardSet(4, (0, 2)).label == "shards-0-2-of-4" != ShardSet(4, (1, 3)).label


def test_bad_shard_settings_are_refused_by_name() -> None:
    assert load_settings(shard_count=4, shard_ids="1,3").shards == ShardSet(4, (1, 3))
    with pytest.raises(SettingsError, match="shard id 7 is outside 0-3"):
        load_settings(shard_count=4, shard_ids="7")


def test_midway_bot_refuses_a_bad_shard_flag_before_connecting() -> None:
    result = subprocess.run([sys.executable, "-m", "cli", "bot", "--shards", "2", "--shard-ids", "0,2"],
                            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60,
                            env={"PATH": "/usr/bin:/bin", "REDIS_URL": "redis://127.0.0.1:1/0",
                                 "PYTHONPATH": str(PROJECT_ROOT)})
    assert result.returncode == 2
    assert result.stderr.strip() == "midway bot: shard id 2 is outside 0-1 (shard count 2)"
