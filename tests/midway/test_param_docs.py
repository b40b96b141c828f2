"""Every parameter's documented range is the one the parser enforces, and `midway parse --help` and the
README's feature table name each reference parameter with it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from midway.prompt.params import PARAMS
from tests.cli_run import run_cli
from tests.midway.prompt_helpers import error_of, parse_one

ROOT = Path(__file__).resolve().parents[2]
# `0–1000` at the start of a doc: the value's range (the reference params' docs put a code's in brackets).
_RANGE = re.compile(r"^(\d+(?:\.\d+)?)–(\d+(?:\.\d+)?)")
RANGED = [(param.name, match.groups()) for param in PARAMS if (match := _RANGE.match(param.doc))]


def test_every_parameter_has_a_doc() -> None:
    assert [param.name for param in PARAMS if not param.doc] == []
    assert {"iw", "sw", "cw", "ow", "stylize", "chaos"} <= {name for name, _ in RANGED}


@pytest.mark.parametrize(("name", "bounds"), RANGED, ids=[name for name, _ in RANGED])
def test_a_documented_range_is_what_the_parser_accepts(name: str, bounds: tuple[str, str]) -> None:
    low, high = bounds
    for edge in (low, high):
        parse_one(f"a fox --{name} {edge}")
    # Just outside: a whole step for whole-number ranges, a hundredth for --iw and --q.
    step = 1 if name not in ("iw", "quality") else 0.01
    for outside in (f"{float(low) - step:g}", f"{float(high) + step:g}"):
        error = error_of(f"a fox --{name} {outside}")
        assert error.token == outside and f"--{name}" in error.message, error.message


def test_parse_help_lists_each_parameter_with_its_range() -> None:
    result = run_cli("parse", "--help")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    for param in PARAMS:
        line = next((line for line in lines if line.startswith(f"--{param.name}")), None)
        assert line is not None, f"--{param.name} is missing from midway parse --help"
        assert param.doc.split(":")[0].split(" (")[0] in line
    assert "--sw: 0–1000, default 100: the style references' weight" in lines
    assert "--ow: 1–1000, default 100: the omni reference's weight" in lines


def test_the_readme_feature_table_names_each_reference_parameter_with_its_range() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if line.startswith("| Image prompts and references |"))
    for name, (low, high) in RANGED:
        if name in ("iw", "sw", "cw", "ow"):
            assert f"`--{name} {low}–{high}`" in row, name
    for mention in ("`--sref", "`--cref", "`--oref", "`--draft`", "`/imagine image:`", "`file://`"):
        assert mention in row, mention
    grammar = next(line for line in readme.splitlines() if line.startswith("| The prompt grammar |"))
    named = set(re.findall(r"--([a-z]+)", grammar)) | {"raw"}  # written `--style raw` there
    assert [param.name for param in PARAMS if named.isdisjoint({param.name, *param.aliases})] == []
