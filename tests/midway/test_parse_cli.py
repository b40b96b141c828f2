"""`midway parse` as a user runs it: a subprocess, JSON on stdout or a message on stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_run import run_cli

REPO = Path(__file__).resolve().parents[2]


def midway(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_parse_prints_specs_as_json() -> None:
    result = midway("parse", "a {red, blue} fox —ar 16:9 --no snow", "--seed-default", "99")
    assert result.returncode == 0, result.stderr
    specs = json.loads(result.stdout)
    assert [spec["prompt"] for spec in specs] == ["a red fox", "a blue fox"]
    assert {(spec["width"], spec["height"], spec["seed"]) for spec in specs} == {(1344, 768, 99)}
    assert specs[0]["negative_prompt"] == "snow"
    assert specs[0]["lane"] == "fast"


def test_bad_prompt_exits_2_with_the_message() -> None:
    result = midway("parse", "a fox --chaos 500")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "`500`" in result.stderr and "--chaos" in result.stderr


def test_options_change_caps_and_base_size() -> None:
    refused = midway("parse", "fox --r 6")
    assert refused.returncode == 2
    allowed = midway("parse", "{a,b,c} fox --r 6 --ar 1:1", "--max-repeat", "6", "--engine-base", "512x512")
    assert allowed.returncode == 0, allowed.stderr
    specs = json.loads(allowed.stdout)
    assert len(specs) == 18
    assert (specs[0]["width"], specs[0]["height"]) == (512, 512)
    assert midway("parse", "{a,b,c} fox", "--max-permutations", "2").returncode == 2


def test_parse_does_not_import_torch() -> None:
    code = (
        "import sys, contextlib, io\n"
        "from cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    rc = main(['parse', 'a fox --v 6 --ar 3:2'])\n"
        "print(rc, sorted(m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["0", "[]"], result.stderr


def test_versions_resolve_through_the_engine_catalogue(tmp_path: Path) -> None:
    pytest.importorskip("midway.catalogue")
    catalogue = tmp_path / "catalogue.toml"
    catalogue.write_text(
        '[engines.small]\nkind = "tiny"\nfamily = "sd"\nbase_width = 256\nbase_height = 256\n'
        'size_multiple = 32\naliases = ["6", "niji 6"]\n',
        encoding="utf-8",
    )
    env = {"MIDWAY_CATALOGUE": str(catalogue)}
    result = midway("parse", "a fox --niji", env=env)
    assert result.returncode == 0, result.stderr
    spec = json.loads(result.stdout)[0]
    assert (spec["engine"], spec["version"], spec["width"]) == ("small", "niji 6", 256)
    unknown = midway("parse", "a fox --v 7", env=env)
    assert unknown.returncode == 2
    assert "`7`" in unknown.stderr and "niji 6" in unknown.stderr


def test_parse_shows_loras_with_weights_and_trigger_words() -> None:
    result = midway("parse", "a fox --lora tiny-style::0.8 --lora tiny-ink")
    assert result.returncode == 0, result.stderr
    spec = json.loads(result.stdout)[0]
    assert spec["loras"] == [{"name": "tiny-style", "weight": 0.8}, {"name": "tiny-ink", "weight": 0.8}]
    assert spec["prompt"] == "a fox tnystyle"
    refused = midway("parse", "a fox --lora tiny-nope")
    assert refused.returncode == 2 and "Unknown LoRA `tiny-nope`" in refused.stderr


def test_parse_prints_every_reference_field() -> None:
    result = midway("parse", "https://x/a.png a cat --sref https://x/s.png::2 --sw 300 --cref https://x/c.png "
                    "--cw 40 --oref https://x/o.png --ow 200 --draft --iw 1.5")
    assert result.returncode == 0, result.stderr
    [spec] = json.loads(result.stdout)
    assert (spec["prompt"], spec["image_urls"], spec["image_weight"]) == ("a cat", ["https://x/a.png"], 1.5)
    assert (spec["style_refs"], spec["style_ref_weights"], spec["style_weight"]) == (["https://x/s.png"], [2.0], 300)
    assert (spec["character_refs"], spec["character_weight"]) == (["https://x/c.png"], 40)
    assert (spec["omni_refs"], spec["omni_weight"], spec["draft"]) == (["https://x/o.png"], 200, True)


@pytest.mark.parametrize(("prompt", "named"), [
    ("a cat --sw 1001", ["`1001`", "`--sw`", "0 to 1000"]),
    ("a cat --cw 101", ["`101`", "`--cw`", "0 to 100"]),
    ("a cat --ow 0", ["`0`", "`--ow`", "1 to 1000"]),
    ("a cat --iw 3.5", ["`3.5`", "`--iw`", "0 to 3"]),
    ("a cat --cref " + " ".join(f"https://x/{n}.png" for n in range(6)), ["`--cref`", "at most 5"]),
    ("a cat --sref abc", ["`abc`", "`--sref`", "style code (a whole number from 0 to 4294967295)"]),
    ("a cat --sref 99999999999", ["`--sref`", "0 to 4294967295"]),
    ("a cat --sref file:///etc/a.png", ["`file:///etc/a.png`", "`--sref`"]),
    ("a cat --cref file:///etc/a.png", ["`file:///etc/a.png`", "`--cref`"]),
    ("a cat --oref file:///etc/a.png", ["`file:///etc/a.png`", "`--oref`"]),
    # A leading link is an image prompt: one that could never be fetched is refused, not kept as text.
    ("file:///etc/a.png a cat", ["`file:///etc/a.png`", "http:// or https://"]),
    ("<ftp://x/a.png> a cat", ["`ftp://x/a.png`", "http:// or https://"]),
])
def test_bad_reference_values_exit_2_naming_the_parameter_and_its_range(prompt: str, named: list[str]) -> None:
    result = run_cli("parse", prompt)
    assert (result.returncode, result.stdout) == (2, "")
    assert all(part in result.stderr for part in named), result.stderr
