"""The README's examples work as written."""

from __future__ import annotations

import re
from pathlib import Path

from midway.catalogue import load_catalogue

ROOT = Path(__file__).resolve().parents[2]


def test_catalogue_example_in_the_readme_loads(tmp_path):
    readme = (ROOT / "README.md").read_text()
    # Every catalogue example loads; the engines one and the LoRAs one together, as a user pastes them.
    blocks = re.findall(r"```toml\n(.*?)```", readme, flags=re.S)
    assert len(blocks) == 2
    path = tmp_path / "catalogue.toml"
    path.write_text("\n".join(blocks))
    catalogue = load_catalogue(path)
    assert catalogue.get("my-sdxl").model.endswith(".safetensors")
    assert catalogue.get("dalle2-style").prior
    assert "niji 6" in catalogue.get("my-sdxl").aliases


def test_readme_opens_with_the_two_commands_ci_runs():
    readme = (ROOT / "README.md").read_text()
    first_block = re.search(r"```bash\n(.*?)```", readme, flags=re.S).group(1)
    commands = [line.split("#")[0].strip() for line in first_block.splitlines() if line.strip()]
    assert commands == ["./scripts/up", "./scripts/test"]
    assert "./scripts/test" in (ROOT / ".ci/run").read_text()
