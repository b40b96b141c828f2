"""`midway models add/list/remove`: a checkpoint is loaded and its architecture checked before its entry is
written to the user's catalogue copy; a bad path, a wrong kind or a taken name changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from engines.architecture import architecture_problem
from engines.tiny.cache import ensure_tiny
from midway.catalogue import load_catalogue
from tests.cli_run import run_cli


@pytest.fixture(scope="module")
def tiny_folders(state_dir, catalogue) -> dict[str, Path]:
    """The tiny SD and SDXL pipelines, saved with save_pretrained as any diffusers checkpoint folder is."""
    return {family: ensure_tiny(catalogue.get(name)) for family, name in (("sd", "tiny"), ("sdxl", "tiny-sdxl"))}


@pytest.fixture
def user_catalogue(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "user-catalogue.toml"
    monkeypatch.setenv("MIDWAY_USER_CATALOGUE", str(path))
    return path


def test_a_tiny_sd_folder_is_accepted_written_and_merged_over_the_catalogue(tiny_folders, user_catalogue):
    result = run_cli("models", "add", "my-sd", str(tiny_folders["sd"]), "--kind", "sd", "--steps", "20",
                     "--size", "384x256", "--alias", "niji 9")
    assert result.returncode == 0, result.stderr
    assert "midway worker --engines my-sd" in result.stdout
    catalogue = load_catalogue()
    entry = catalogue.get("my-sd")
    assert (entry.kind, entry.family, entry.model) == ("sd", "sd", str(tiny_folders["sd"]))
    assert (entry.steps, entry.base_width, entry.base_height, entry.draft_steps) == (20, 384, 256, 10)
    assert entry.aliases == ("niji 9",) and "my-sd" in catalogue.added
    assert "tiny" in catalogue and "sdxl" in catalogue  # the built-in engines are all still there
    listing = run_cli("models", "list")
    assert f"my-sd\tsd\t{tiny_folders['sd']}\tadded" in listing.stdout.splitlines()
    assert "sdxl\tsdxl\tstabilityai/stable-diffusion-xl-base-1.0\tbuilt-in" in listing.stdout.splitlines()


def test_an_sdxl_folder_is_accepted_as_sdxl(tiny_folders, tmp_path):
    path = tmp_path / "elsewhere.toml"
    result = run_cli("models", "add", "my-xl", str(tiny_folders["sdxl"]), "--kind", "sdxl", "--catalogue", str(path))
    assert result.returncode == 0, result.stderr
    assert f"MIDWAY_USER_CATALOGUE={path}" in result.stdout  # a worker must be told where this file is
    assert 'kind = "sdxl"' in path.read_text()


@pytest.mark.parametrize(("family", "kind", "said"), [("sd", "sdxl", "use --kind sd"),
                                                      ("sdxl", "sd", "use --kind sdxl"),
                                                      ("sd", "flux", "use --kind sd")])
def test_a_wrong_kind_is_refused_with_exit_2_and_nothing_written(tiny_folders, user_catalogue, family, kind, said):
    result = run_cli("models", "add", "wrong", str(tiny_folders[family]), "--kind", kind)
    assert result.returncode == 2
    assert said in result.stderr and "wrong" in result.stderr
    assert not user_catalogue.exists()


def test_the_loaded_architecture_is_checked_not_only_the_folders_label(tiny_folders):
    """diffusers loads an SD folder into the SDXL pipeline class (and back) without a word; the configs tell."""
    from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline

    sd_as_xl = StableDiffusionXLPipeline.from_pretrained(str(tiny_folders["sd"]), local_files_only=True)
    xl_as_sd = StableDiffusionPipeline.from_pretrained(str(tiny_folders["sdxl"]), local_files_only=True,
                                                       safety_checker=None, requires_safety_checker=False)
    assert "--kind sd" in architecture_problem(sd_as_xl, "sdxl")
    assert "--kind sdxl" in architecture_problem(xl_as_sd, "sd")
    assert architecture_problem(xl_as_sd, "flux").startswith("its denoiser is a NoneType")
    xl = StableDiffusionXLPipeline.from_pretrained(str(tiny_folders["sdxl"]), local_files_only=True)
    assert architecture_problem(sd_as_xl, "sd") is None and architecture_problem(xl, "sdxl") is None


def test_a_bad_path_or_a_foreign_file_is_refused_and_nothing_written(user_catalogue, tmp_path):
    missing = run_cli("models", "add", "gone", str(tmp_path / "nowhere"), "--kind", "sd")
    assert missing.returncode == 2 and "model folder not found" in missing.stderr
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a checkpoint at all")
    foreign = run_cli("models", "add", "junk", str(junk), "--kind", "sdxl")
    assert foreign.returncode == 2 and "junk" in foreign.stderr
    offline = run_cli("models", "add", "hub", "someone/not-downloaded", "--kind", "sd")
    assert offline.returncode == 2 and "cannot load 'someone/not-downloaded'" in offline.stderr
    assert not user_catalogue.exists()


def test_names_are_checked_before_anything_loads(tiny_folders, user_catalogue):
    clash = run_cli("models", "add", "sdxl", str(tiny_folders["sdxl"]), "--kind", "sdxl")
    assert clash.returncode == 2 and "'sdxl' is a built-in engine" in clash.stderr
    bad = run_cli("models", "add", "My Model", str(tiny_folders["sd"]), "--kind", "sd")
    assert bad.returncode == 2 and "lower case" in bad.stderr
    assert not user_catalogue.exists()
    assert run_cli("models", "add", "mine", str(tiny_folders["sd"]), "--kind", "sd").returncode == 0
    again = run_cli("models", "add", "mine", str(tiny_folders["sdxl"]), "--kind", "sdxl")
    assert again.returncode == 2 and "--replace" in again.stderr
    assert load_catalogue().get("mine").kind == "sd"
    assert run_cli("models", "add", "mine", str(tiny_folders["sdxl"]), "--kind", "sdxl", "--replace").returncode == 0
    assert load_catalogue().get("mine").kind == "sdxl"


def test_remove_takes_out_an_added_engine_and_refuses_a_built_in_one(tiny_folders, user_catalogue):
    assert run_cli("models", "add", "brief", str(tiny_folders["sd"]), "--kind", "sd").returncode == 0
    built_in = run_cli("models", "remove", "tiny")
    assert built_in.returncode == 2 and "built-in" in built_in.stderr
    assert run_cli("models", "remove", "brief").returncode == 0
    assert "brief" not in load_catalogue()
    assert run_cli("models", "remove", "brief").returncode == 2


def test_a_hand_edited_clash_in_the_user_catalogue_names_both_files(user_catalogue):
    from midway.errors import CatalogueError

    user_catalogue.write_text('[engines.tiny]\nkind = "sd"\nmodel = "/models/x"\n')
    with pytest.raises(CatalogueError, match=r"user catalogue .*\['tiny'\] already name engines"):
        load_catalogue()
