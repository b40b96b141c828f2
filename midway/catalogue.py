"""The engine catalogue: a TOML file mapping engine names to how to load and drive them.

Part of the torch-free contract: the bot, the worker and `midway parse` read it, so it must never import
torch, numpy or diffusers. A bad entry
raises CatalogueError naming the entry; nothing here runs at import time.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from midway.contract import GenerationSpec, Operation
from midway.errors import CatalogueError, EngineNotFound
from midway.loras import LoraEntry, parse_loras

# Builds the error for a bad `[engines.<name>]` table, naming the engine (parse_entry's `fail`).
Fail = Callable[[str], CatalogueError]

SHIPPED_CATALOGUE = Path(__file__).with_name("catalogue.toml")

KINDS = ("sd", "sdxl", "flux", "unclip", "caption", "tiny")
# The pipeline families a `tiny` entry can build (random weights, real classes).
TINY_FAMILIES = ("sd", "sdxl", "unclip", "flux", "caption")
# The families that draw images; `caption` (a vision-language model for /describe) only reads them.
IMAGE_FAMILIES = ("sd", "sdxl", "flux", "unclip")
# /describe runs on a captioning model, and only there.
CAPTION_FAMILIES = ("caption",)
CAPTION_CAPABILITIES = ("describe",)
DTYPES = ("float32", "float16", "bfloat16", "auto")
# `--style raw` scales the stylize behind the guidance by this much (raw at s=100 guides like s=25).
RAW_STYLIZE = 0.25
DEFAULT_CAPABILITIES = ("imagine", "variation", "upscale", "reroll")
# Zoom Out, Pan and Vary (Region) inpaint in latent space: the latent-diffusion families offer them unless
# told otherwise (Vary (Region) runs on the same inpainting pipeline as the outpainting).
OUTPAINT_FAMILIES = ("sd", "sdxl", "flux")
OUTPAINT_CAPABILITIES = ("zoom", "pan", "inpaint")
# /blend mixes CLIP image embeddings: only the unCLIP family has them to mix.
BLEND_FAMILIES = ("unclip",)
BLEND_CAPABILITIES = ("blend",)
IMAGE_PROMPT_MODES = ("adapter", "img2img", "redux")
# FLUX Redux appends image tokens to FLUX's T5 tokens: only the flux family reads them.
REDUX_FAMILIES = ("flux",)
# InstantStyle (Wang et al. 2024, "InstantStyle: Free Lunch towards Style-Preserving"): in SDXL the second
# attention of the first up block carries style; --sref injects its reference there only. SD 1.5's first
# cross-attention up block is up_blocks.1 (its up_blocks.0 has no attention).
STYLE_BLOCKS: dict[str, dict[str, Any]] = {"sdxl": {"up": {"block_0": [0.0, 1.0, 0.0]}},
                                           "sd": {"up": {"block_1": [0.0, 1.0, 0.0]}}}


@dataclass(frozen=True)
class EngineEntry:
    name: str
    kind: str
    # Hub id, local folder or single `.safetensors` file. Empty for `tiny` (built into the cache).
    model: str = ""
    # A single file holds weights only: the diffusers-format folder or hub id whose configs describe
    # its architecture (e.g. stabilityai/stable-diffusion-xl-base-1.0). Empty: diffusers guesses the
    # base model and fetches its configs from the hub, which fails offline.
    config: str = ""
    # The pipeline family that runs it: the kind itself, or for `tiny` the family it imitates.
    family: str = ""
    dtype: str = "auto"
    base_width: int = 1024
    base_height: int = 1024
    steps: int = 30
    guidance: float = 7.0
    size_multiple: int = 64
    capabilities: frozenset[Operation] = field(default_factory=lambda: frozenset(map(Operation, DEFAULT_CAPABILITIES)))
    aliases: tuple[str, ...] = ()
    variation_strength_subtle: float = 0.35
    variation_strength_strong: float = 0.7
    # Strength of the low-strength img2img pass of a "creative" upscale.
    upscale_strength: float = 0.3
    description: str = ""
    # unclip: the prior pipeline (CLIP text embedding -> CLIP image embedding); `model` is the decoder.
    prior: str = ""
    prior_steps: int = 25
    # An upscaler pipeline (e.g. stabilityai/stable-diffusion-x4-upscaler) used for 4x when present.
    upscaler: str = ""
    scheduler: str = "euler"
    # GPU performance switches; ignored on CPU, where everything stays float32 and eager.
    channels_last: bool = True
    fuse_qkv: bool = False
    compile: bool = False
    # torch.compile mode: max-autotune is fastest per step but its first call autotunes for minutes
    # (a worker pays it once at start); "default" compiles in about a minute.
    compile_mode: str = "max-autotune"
    # `--draft`: either fewer steps (and optionally another guidance) on this same pipeline, or a faster
    # engine of the same family (`draft_engine`, e.g. SDXL-Turbo for SDXL) that serves the drafts.
    # Neither set: the engine refuses `--draft` by name.
    draft_steps: int | None = None
    draft_guidance: float | None = None
    draft_engine: str = ""

    @property
    def drafts(self) -> bool:
        return self.draft_steps is not None or bool(self.draft_engine)

    # IP-Adapter (sd, sdxl): "<hub id or folder>:<subfolder>/<weights>.safetensors", the layout diffusers'
    # load_ip_adapter reads (e.g. "h94/IP-Adapter:sdxl_models/ip-adapter_sdxl.safetensors"); "tiny-ip-adapter"
    # builds a random-weight one offline. Image prompts and --sref condition through it.
    ip_adapter: str = ""
    # IP-Adapter Plus (a Resampler over the vision encoder's hidden states, h94's "plus"/"plus-face" files),
    # same format as ip_adapter; "tiny-ip-adapter-plus" builds a random-weight one. --cref and --oref
    # condition through it.
    character_adapter: str = ""
    # The CLIP vision encoder inside the adapter's repo: a folder name next to the weights ("image_encoder",
    # the default) or a path from the repo's root ("models/image_encoder").
    image_encoder: str = ""
    # FLUX Redux (flux): a FluxPriorReduxPipeline hub id or folder (e.g. "black-forest-labs/FLUX.1-Redux-dev");
    # "tiny-redux" builds a random-weight one offline. Image prompts, --cref and --oref then condition through
    # its image tokens.
    redux: str = ""
    # How an image prompt conditions a latent engine: "adapter" (needs ip_adapter), "redux" (needs redux) or
    # "img2img" (the first image as the start). Empty: adapter with ip_adapter, redux with redux, else img2img.
    image_prompts: str = ""
    # --sref's InstantStyle layer selection in diffusers' set_ip_adapter_scale format, scaled by --sw/100;
    # empty: the family's style block (STYLE_BLOCKS).
    style_blocks: dict[str, Any] = field(default_factory=dict, hash=False)

    @property
    def image_prompt_mode(self) -> str:
        """"embeddings" (unclip mixes CLIP image embeddings), "adapter", "redux" or "img2img" (latent families)."""
        if self.family == "unclip":
            return "embeddings"
        if self.image_prompts:
            return self.image_prompts
        return "adapter" if self.ip_adapter else "redux" if self.redux else "img2img"

    @property
    def serves_style_refs(self) -> bool:
        """--sref needs an IP-Adapter whose style blocks can be scaled alone (InstantStyle)."""
        return bool(self.ip_adapter) and self.family in STYLE_BLOCKS

    @property
    def serves_character_refs(self) -> bool:
        """--cref / --oref: through an IP-Adapter Plus (sd, sdxl) or through FLUX Redux (flux), whose image tokens
        carry a character as they carry an image prompt; a redux serves them even where image_prompts is
        "img2img", since that setting is about image prompts alone."""
        if self.family in ("sd", "sdxl"):
            return bool(self.character_adapter)
        return bool(self.redux) and self.family in REDUX_FAMILIES

    @property
    def style_block_scales(self) -> dict[str, Any]:
        return self.style_blocks or STYLE_BLOCKS.get(self.family, {})

    @property
    def reference_features(self) -> list[str]:
        """What the engine does with image references, as /engine list shows it."""
        if self.family not in IMAGE_FAMILIES:
            return []
        features = [f"image prompts ({self.image_prompt_mode})"]
        features += ["--sref"] if self.serves_style_refs else []
        return [*features, "--cref", "--oref"] if self.serves_character_refs else features

    @property
    def is_tiny(self) -> bool:
        return self.kind == "tiny"

    @property
    def can_shorten(self) -> bool:
        """/shorten scores words with the engine's CLIP text encoder, which every image family has."""
        return self.family in IMAGE_FAMILIES


# Checkpoints in one file (from_single_file); anything else is a diffusers folder or hub id.
SINGLE_FILE_SUFFIXES = (".safetensors", ".ckpt")

_INT_FIELDS = ("base_width", "base_height", "steps", "size_multiple", "prior_steps", "draft_steps")
_FLOAT_FIELDS = ("guidance", "variation_strength_subtle", "variation_strength_strong", "upscale_strength",
                 "draft_guidance")
_BOOL_FIELDS = ("channels_last", "fuse_qkv", "compile")
_STR_FIELDS = ("model", "config", "family", "dtype", "description", "prior", "upscaler", "scheduler", "compile_mode",
               "draft_engine", "ip_adapter", "image_encoder", "image_prompts", "redux",
               "character_adapter")
# What a draft served by a `draft_engine` counts as, against a full job (Midjourney: "half the cost").
DRAFT_ENGINE_COST = 0.5
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


class Catalogue:
    def __init__(self, entries: dict[str, EngineEntry], source: Path | None = None,
                 loras: dict[str, LoraEntry] | None = None, *, added: frozenset[str] = frozenset(),
                 user_source: Path | None = None) -> None:
        self._entries = dict(entries)
        self.source = source
        # The engines merged in from the user's catalogue copy (`midway models add`), and its path.
        self.added = added
        self.user_source = user_source
        # `[loras.<name>]`: adapters a prompt may add with `--lora` (midway/loras.py).
        self.loras: dict[str, LoraEntry] = dict(loras or {})

    def get(self, name: str) -> EngineEntry:
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(self.names()) or "(none)"
            raise EngineNotFound(f"unknown engine {name!r}; known engines: {known}") from None

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[EngineEntry]:
        return iter(self._entries.values())


def guidance_scale(spec: GenerationSpec, entry: EngineEntry) -> float:
    """Classifier-free guidance for a spec on an engine: `--s` moves it around the catalogue's value
    (engines/params.py explains the mapping), a draft's around its `draft_guidance`; the bot reads it to
    tell whether `--no` can apply."""
    if spec.guidance is not None:
        return spec.guidance
    base = entry.draft_guidance if spec.draft and entry.draft_guidance is not None else entry.guidance
    stylize = spec.stylize * (RAW_STYLIZE if spec.style == "raw" else 1)
    return round(base * (0.5 + 0.5 * math.sqrt(stylize / 100)), 4)


def job_cost(spec: GenerationSpec, entry: EngineEntry) -> float:
    """What a job counts as against a full one on its engine: a draft on the same pipeline its step ratio
    (draft_steps / steps), a draft served by a draft engine DRAFT_ENGINE_COST; anything else 1."""
    if not spec.draft:
        return 1.0
    if entry.draft_steps is not None:
        return min(1.0, entry.draft_steps / entry.steps)
    return DRAFT_ENGINE_COST


def draft_source(catalogue: Catalogue, engine: str) -> str | None:
    """The engine whose `draft_engine` is `engine` (the full-quality engine a draft's Enhance runs on),
    the first by name when several share it; None when no engine drafts on it."""
    for name in catalogue.names():
        if catalogue.get(name).draft_engine == engine:
            return name
    return None


def alias_key(alias: str) -> str:
    """An alias as the prompt parser keys `--v` / `--niji` (midway/prompt/versions.py): "6.0" -> "6",
    "Niji 6" / "niji6" -> "niji 6"; anything else lower case with single spaces."""
    from midway.prompt.versions import niji_key, version_key

    key = version_key(alias)
    rest = key.removeprefix("niji")
    if rest != key and (not rest or rest[0] == " " or rest[0].isdigit()):
        return niji_key(rest.strip() or None)
    return key


def alias_table(catalogue: Catalogue) -> dict[str, str]:
    """Midjourney version strings ("6", "niji 6") -> engine name, for the prompt parser.

    Keys are normalised as the parser normalises what users type; CatalogueError when two engines
    claim one alias."""
    table: dict[str, str] = {}
    for entry in catalogue:
        for alias in entry.aliases:
            key = alias_key(alias)
            owner = table.get(key)
            if owner is not None and owner != entry.name:
                raise CatalogueError(f"engines {owner!r} and {entry.name!r} both declare alias {key!r}; "
                                     "an alias picks one engine")
            table[key] = entry.name
    return table


def catalogue_path() -> Path:
    """MIDWAY_CATALOGUE (via settings) wins; otherwise the catalogue shipped next to this module."""
    env = os.environ.get("MIDWAY_CATALOGUE")
    if env:
        return Path(env)
    from midway.settings import get_settings

    return get_settings().catalogue or SHIPPED_CATALOGUE


def load_catalogue(path: Path | None = None) -> Catalogue:
    """The catalogue at `path`; without one, catalogue_path()'s with the user's catalogue copy (the engines
    `midway models add` wrote, midway/user_catalogue.py) merged over it."""
    if path is not None:
        return load_merged(Path(path), {})
    from midway.user_catalogue import read_tables, user_catalogue_path

    user_path = user_catalogue_path()
    return load_merged(catalogue_path(), read_tables(user_path), user_path)


def load_merged(path: Path, user_tables: Mapping[str, object], user_path: Path | None = None) -> Catalogue:
    """The catalogue at `path` with `user_tables` (the user catalogue at `user_path`) merged over it."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogueError(f"engine catalogue not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"engine catalogue {path} is not valid TOML: {exc}") from None
    tables = raw.get("engines", raw)
    if not isinstance(tables, dict):
        raise CatalogueError(f"engine catalogue {path}: expected [engines.<name>] tables")
    entries = {name: parse_entry(name, table) for name, table in tables.items()}
    try:
        added = {name: parse_entry(name, table) for name, table in user_tables.items()}
    except CatalogueError as exc:
        raise CatalogueError(f"user catalogue {user_path}: {exc}") from None
    clashes = sorted(set(added) & set(entries))
    if clashes:
        # An added engine never silently replaces a built-in one that channels may already use.
        raise CatalogueError(f"user catalogue {user_path}: {clashes} already name engines of {path}; "
                             "rename them (midway models remove, then add under another name)")
    # A catalogue of bare engine tables (no [engines] section) has no room for [loras]: none then.
    lora_tables = raw.get("loras", {}) if "engines" in raw else {}
    try:
        catalogue = Catalogue({**entries, **added}, source=path, loras=parse_loras(lora_tables),
                              added=frozenset(added), user_source=user_path)
        alias_table(catalogue)
        check_draft_engines(catalogue)
    except CatalogueError as exc:
        raise CatalogueError(f"engine catalogue {path}: {exc}") from None
    return catalogue


def check_draft_engines(catalogue: Catalogue) -> None:
    """A `draft_engine` names another image engine of the same family that itself drafts no further."""
    for entry in catalogue:
        if not entry.draft_engine:
            continue
        if entry.draft_engine not in catalogue:
            raise CatalogueError(f"engine {entry.name!r}: draft_engine {entry.draft_engine!r} is not in the catalogue")
        drafter = catalogue.get(entry.draft_engine)
        if drafter.family != entry.family or drafter.name == entry.name or drafter.drafts:
            raise CatalogueError(f"engine {entry.name!r}: draft_engine {drafter.name!r} must be another "
                                 f"{entry.family} engine without a draft setting of its own")
        if Operation.imagine not in drafter.capabilities:
            raise CatalogueError(f"engine {entry.name!r}: draft_engine {drafter.name!r} cannot imagine")


def parse_entry(name: str, table: object) -> EngineEntry:
    """One `[engines.<name>]` table -> EngineEntry; every complaint names the entry and the bad value."""
    if not isinstance(table, dict):
        raise CatalogueError(f"engine {name!r}: expected a table, got {table!r}")

    def fail(message: str) -> CatalogueError:
        return CatalogueError(f"engine {name!r}: {message}")

    known = {f for f in EngineEntry.__dataclass_fields__ if f != "name"}
    unknown = sorted(set(table) - known)
    if unknown:
        raise fail(f"unknown keys {unknown}")
    kind = table.get("kind")
    if kind not in KINDS:
        raise fail(f"kind must be one of {list(KINDS)}, got {kind!r}")
    # Any: every value below is checked against its field's type before it goes in.
    values: dict[str, Any] = {"name": name, "kind": kind}
    for key in _INT_FIELDS:
        if key in table:
            values[key] = _positive_int(table[key], key, fail)
    for key in _FLOAT_FIELDS:
        if key in table:
            values[key] = _number(table[key], key, fail)
    for key in _BOOL_FIELDS:
        if key in table:
            if not isinstance(table[key], bool):
                raise fail(f"{key} must be true or false, got {table[key]!r}")
            values[key] = table[key]
    for key in _STR_FIELDS:
        if key in table:
            if not isinstance(table[key], str):
                raise fail(f"{key} must be a string, got {table[key]!r}")
            values[key] = table[key]
    if "style_blocks" in table:
        values["style_blocks"] = _style_blocks(table["style_blocks"], fail)
    values["capabilities"] = _capabilities(table.get("capabilities", default_capabilities(table)), fail)
    aliases = table.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise fail(f"aliases must be a list of strings, got {aliases!r}")
    # Stored as the prompt parser keys them, so "6.0" or "Niji 6" matches `--v 6` / `--niji 6`.
    values["aliases"] = tuple(dict.fromkeys(alias_key(a) for a in aliases))
    return _check(EngineEntry(**values), fail)


def default_capabilities(table: dict) -> list[str]:
    family = table.get("family") or table.get("kind")
    if family in CAPTION_FAMILIES:
        return list(CAPTION_CAPABILITIES)
    extra: tuple[str, ...] = OUTPAINT_CAPABILITIES if family in OUTPAINT_FAMILIES else ()
    extra += BLEND_CAPABILITIES if family in BLEND_FAMILIES else ()
    return [*DEFAULT_CAPABILITIES, *extra]


def _check(entry: EngineEntry, fail: Fail) -> EngineEntry:
    family = entry.family or (entry.kind if entry.kind != "tiny" else "")
    if entry.kind == "tiny" and family not in TINY_FAMILIES:
        raise fail(f"a tiny engine needs family = one of {list(TINY_FAMILIES)}, got {entry.family!r}")
    if entry.kind != "tiny" and family != entry.kind:
        raise fail(f"family {entry.family!r} does not match kind {entry.kind!r}")
    if entry.kind != "tiny" and not entry.model:
        raise fail("model is required (a hub id, a folder or a .safetensors file)")
    if entry.kind == "unclip" and entry.model.endswith(SINGLE_FILE_SUFFIXES):
        raise fail("an unclip engine loads from diffusers folders or hub ids, not a single file")
    if entry.kind == "unclip" and not entry.prior:
        raise fail("an unclip engine needs prior = the prior pipeline (hub id or folder)")
    if Operation.blend in entry.capabilities and family not in BLEND_FAMILIES:
        raise fail(f"blend needs image embeddings: only the {list(BLEND_FAMILIES)} family can offer it, "
                   f"not {family!r}")
    if (Operation.describe in entry.capabilities) != (family in CAPTION_FAMILIES):
        raise fail("describe runs on a captioning model: kind (or family) = \"caption\" and capabilities "
                   f"[\"describe\"] go together, not family {family!r} with {sorted(entry.capabilities)}")
    if entry.image_prompts and entry.image_prompts not in IMAGE_PROMPT_MODES:
        raise fail(f"image_prompts must be one of {list(IMAGE_PROMPT_MODES)}, got {entry.image_prompts!r}")
    if entry.image_prompts == "adapter" and not entry.ip_adapter:
        raise fail("image_prompts = \"adapter\" needs ip_adapter")
    if entry.ip_adapter and family not in ("sd", "sdxl"):
        raise fail(f"ip_adapter is for the sd and sdxl families, not {family!r}")
    if entry.redux and family not in REDUX_FAMILIES:
        raise fail(f"redux (FLUX Redux) is for the flux family, not {family!r}")
    if entry.image_prompts == "redux" and not entry.redux:
        raise fail("image_prompts = \"redux\" needs redux")
    if entry.character_adapter and family not in ("sd", "sdxl"):
        raise fail(f"character_adapter is for the sd and sdxl families, not {family!r}")
    if entry.character_adapter and not entry.ip_adapter:
        # It loads beside ip_adapter's two copies and shares its image encoder (engines/image_adapter.py).
        raise fail("character_adapter needs ip_adapter")
    if entry.dtype not in DTYPES:
        raise fail(f"dtype must be one of {list(DTYPES)}, got {entry.dtype!r}")
    if entry.compile_mode not in COMPILE_MODES:
        raise fail(f"compile_mode must be one of {list(COMPILE_MODES)}, got {entry.compile_mode!r}")
    if entry.base_width % entry.size_multiple or entry.base_height % entry.size_multiple:
        raise fail(f"base size {entry.base_width}x{entry.base_height} is not a multiple of {entry.size_multiple}")
    if entry.draft_steps is not None and entry.draft_engine:
        raise fail("draft_steps and draft_engine are two ways to draft: give one")
    if entry.draft_steps is not None and entry.draft_steps >= entry.steps:
        raise fail(f"draft_steps ({entry.draft_steps}) must be fewer than steps ({entry.steps})")
    if entry.draft_guidance is not None and entry.draft_steps is None:
        raise fail("draft_guidance needs draft_steps (a draft engine has its own guidance)")
    if entry.drafts and family not in IMAGE_FAMILIES:
        raise fail(f"only image engines draft, not family {family!r}")
    for key in ("variation_strength_subtle", "variation_strength_strong", "upscale_strength"):
        if not 0 < getattr(entry, key) <= 1:
            raise fail(f"{key} must be in (0, 1], got {getattr(entry, key)!r}")
    return replace(entry, family=family)


def _positive_int(value: object, key: str, fail: Fail) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise fail(f"{key} must be a positive integer, got {value!r}")
    return value


def _number(value: object, key: str, fail: Fail) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise fail(f"{key} must be a non-negative number, got {value!r}")
    return float(value)


def _style_blocks(value: object, fail: Fail) -> dict[str, Any]:
    """A table of tables of numbers or lists of numbers, as set_ip_adapter_scale takes."""
    def valid(node: object) -> bool:
        if isinstance(node, dict):
            return all(isinstance(k, str) and valid(v) for k, v in node.items())
        if isinstance(node, list):
            return all(valid(v) for v in node) and not any(isinstance(v, dict | list) for v in node)
        return isinstance(node, int | float) and not isinstance(node, bool)

    if not isinstance(value, dict) or not valid(value):
        raise fail(f"style_blocks must be a table like {{ up = {{ block_0 = [0.0, 1.0, 0.0] }} }}, got {value!r}")
    return value


def _capabilities(value: object, fail: Fail) -> frozenset[Operation]:
    if not isinstance(value, list):
        raise fail(f"capabilities must be a list, got {value!r}")
    try:
        return frozenset(Operation(v) for v in value)
    except ValueError:
        choices = [op.value for op in Operation]
        raise fail(f"capabilities {value!r} must be among {choices}") from None


def engine_sizes(catalogue: Catalogue) -> dict[str, tuple[int, int, int]]:
    """Engine name -> (base_width, base_height, size_multiple), for ParseOptions(engine_sizes=...)."""
    return {entry.name: (entry.base_width, entry.base_height, entry.size_multiple) for entry in catalogue}
