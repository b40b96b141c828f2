"""/imagine text + the user's and channel's settings -> the GenerationSpecs to run (pure).

Order, as Midjourney documents it: `/prefer option` names expand inline, the `/prefer suffix` is
appended (parameters typed in the prompt win over the suffix's), then the foundation's parser runs
with the engine the channel (or the server default) names; `--v` / `--niji` in the prompt pick an
engine through the catalogue's aliases. /settings presets apply only where the prompt is silent.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from bot.store import ChannelSettings, UserSettings
from midway.catalogue import Catalogue, EngineEntry, alias_table, guidance_scale
from midway.contract import GenerationSpec, Operation
from midway.drafts import draft_spec
from midway.loras import resolve_loras
from midway.prompt.errors import PromptError, shown
from midway.prompt.options import ParseOptions
from midway.prompt.parser import parse_prompt
from midway.settings import Settings
from midway.sizing import size_for_aspect

_PARAM = re.compile(r"(?<!\S)--([A-Za-z][\w-]*)")
# Two spellings of one parameter must not both appear once the suffix is appended.
_SAME_PARAM = {"s": "stylize", "c": "chaos", "q": "quality", "aspect": "ar", "w": "weird", "r": "repeat",
               "version": "v"}
# Midjourney's `/prefer option` names: letters, digits, dashes.
OPTION_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
# A saved `/prefer suffix` or option value joins every prompt it applies to: a sixth of the prompt limit
# leaves the typed prompt most of the room, and the value's echo still fits in one Discord message.
MAX_SAVED_LENGTH = ParseOptions.max_length // 6
# The parser refuses a prompt without text, so a saved value is checked after these words.
PLACEHOLDER_PROMPT = "a placeholder prompt"


@dataclass(frozen=True)
class Planned:
    specs: list[GenerationSpec]
    text: str  # the prompt after options and suffix, as parsed


def _canonical(name: str) -> str:
    name = name.lower()
    return _SAME_PARAM.get(name, name)


def expand_options(text: str, options: dict[str, str]) -> str:
    """`--mine` -> the value saved with `/prefer option set mine ...`."""
    if not options:
        return text
    return _PARAM.sub(lambda m: options.get(m.group(1).lower(), m.group(0)), text)


def append_suffix(text: str, suffix: str) -> str:
    """The suffix's parameters, minus any the prompt already sets (the prompt wins, as in Midjourney).
    Text the suffix starts with (`oil painting --chaos 7`) joins the prompt's text, before the prompt's
    own parameters: after them it would be text following a parameter, which the grammar refuses."""
    suffix = suffix.strip()
    if not suffix:
        return text
    typed = {_canonical(name) for name in _PARAM.findall(text)}
    words: list[str] = []
    params: list[str] = []
    skipping = in_params = False
    for word in suffix.split():
        match = _PARAM.fullmatch(word)
        if match:
            in_params, skipping = True, _canonical(match.group(1)) in typed
        if not in_params:
            words.append(word)
        elif not skipping:
            params.append(word)
    first_param = _PARAM.search(text)
    cut = first_param.start() if first_param else len(text)
    prompt_text, prompt_params = text[:cut].rstrip(), text[cut:].strip()
    return " ".join(part for part in (prompt_text, *words, prompt_params, *params) if part)


def check_saved(value: str, catalogue: Catalogue, settings: Settings) -> None:
    """PromptError when `value` (a `/prefer suffix` or option value) is too long or would make every
    prompt it joins fail to parse."""
    if len(value) > MAX_SAVED_LENGTH:
        raise PromptError(f"It is {len(value)} characters long; the limit is {MAX_SAVED_LENGTH}.",
                          f"{len(value)} characters")
    _parse_saved(value, ParseOptions(max_permutations=settings.max_permutations, max_repeat=settings.max_repeat,
                                     aliases=alias_table(catalogue)))


def _parse_saved(value: str, options: ParseOptions) -> None:
    parse_prompt(f"{PLACEHOLDER_PROMPT} {value}", options)


def blame_saved(error: PromptError, text: str, user: UserSettings, options: ParseOptions) -> PromptError:
    """`error`, or, when the user's saved option or suffix caused it (one saved before Midway checked
    them), the same refusal saying so and how to clear it: else every /imagine fails, unexplained."""
    expanded = expand_options(text, user.options)
    try:
        parse_prompt(expanded, options)
    except PromptError:
        for name in dict.fromkeys(name.lower() for name in _PARAM.findall(text)):
            if name not in user.options:
                continue
            try:
                _parse_saved(user.options[name], options)
            except PromptError as own:
                return PromptError(f"{own.message}\nThis comes from your option `--{name}`: fix it with "
                                   f"`/prefer option set`, or delete it by leaving the value empty.",
                                   own.token, own.param)
        return error
    return blame_suffix(error, user)


def blame_suffix(error: PromptError, user: UserSettings) -> PromptError:
    """`error` saying it comes from the user's `/prefer suffix`, when they have one (the only saved text
    a prompt that parses on its own can trip over)."""
    if not user.suffix.strip():
        return error
    return PromptError(f"{error.message}\nThis comes from your `/prefer suffix`: fix it, or clear it by "
                       "running `/prefer suffix` with no value.", error.token, error.param)


def blame_refused_param(error: PromptError, text: str, user: UserSettings) -> PromptError:
    """`error`, or, when the engine refused a parameter (`--sref` without a style adapter, say) that the
    user did not type but saved in an option or the suffix, the same refusal saying where it came from:
    else they are told to leave out a parameter they never wrote."""
    if not error.token.startswith("--"):
        return error
    refused = _canonical(error.token[2:])
    typed = [name.lower() for name in _PARAM.findall(text)]
    if refused in {_canonical(name) for name in typed}:
        return error
    for name in dict.fromkeys(typed):
        if name in user.options and refused in {_canonical(n) for n in _PARAM.findall(user.options[name])}:
            return PromptError(f"{error.message}\nThis comes from your option `--{name}`: change it with "
                               "`/prefer option set`, or delete it by leaving the value empty.",
                               error.token, error.param)
    if refused in {_canonical(name) for name in _PARAM.findall(user.suffix)}:
        return blame_suffix(error, user)
    return error


def engine_for(channel: ChannelSettings, settings: Settings) -> str:
    return channel.engine or settings.default_engine


def parse_options(entry: EngineEntry, catalogue: Catalogue, user: UserSettings, settings: Settings) -> ParseOptions:
    return ParseOptions(base_width=entry.base_width, base_height=entry.base_height,
                        size_multiple=entry.size_multiple, max_permutations=settings.max_permutations,
                        max_repeat=settings.max_repeat, aliases=alias_table(catalogue),
                        default_engine=entry.name, default_lane=user.lane)


def fit_engine(spec: GenerationSpec, catalogue: Catalogue, stylize_preset: int | None,
               draft_preset: bool = False, allowed_loras: Collection[str] = ()) -> GenerationSpec:
    """Resize for the engine `--v` picked, check it can imagine, apply the /settings stylize preset and
    Draft toggle, move a draft to its engine's draft engine (midway/drafts.py), and check the `--lora`s
    against the catalogue and the channel's allow list (trigger words join the prompt)."""
    if spec.engine is None or spec.engine not in catalogue:
        raise PromptError(f"Engine {shown(str(spec.engine))} is not in this server's catalogue.", str(spec.engine))
    entry = catalogue.get(spec.engine)
    if Operation.imagine not in entry.capabilities:
        raise PromptError(f"Engine {shown(entry.name)} cannot imagine images.", entry.name)
    width_ratio, height_ratio = (int(side) for side in spec.aspect_ratio.split(":"))
    width, height = size_for_aspect(width_ratio, height_ratio, entry.base_width, entry.base_height,
                                    entry.size_multiple)
    update: dict[str, object] = {"width": width, "height": height}
    if stylize_preset is not None and "--stylize" not in spec.full_prompt:
        update["stylize"] = stylize_preset
    # The Draft toggle drafts wherever the engine can: a setting must not make every /imagine fail on an
    # engine without a draft mode (a typed `--draft` there is refused by name instead).
    if draft_preset and entry.drafts:
        update["draft"] = True
    fitted = draft_spec(spec.model_copy(update=update), catalogue)
    fitted = resolve_loras(fitted, entry.family, catalogue.loras, allowed_loras)
    served_by = catalogue.get(fitted.engine or entry.name)
    # A draft moved to its engine's draft engine: a refusal names both, or "pick another engine" would
    # point at the engine the user did pick.
    drafted_from = entry.name if served_by.name != entry.name else None
    check_negatives_apply(fitted, served_by)
    check_style_refs_apply(fitted, served_by, drafted_from)
    check_character_refs_apply(fitted, served_by, drafted_from)
    return fitted


def check_style_refs_apply(spec: GenerationSpec, entry: EngineEntry, drafted_from: str | None = None) -> None:
    """`--sref` conditions through an IP-Adapter's style blocks; refused here, before a job exists, on an
    engine whose catalogue entry has none (the worker would only fail the job later)."""
    if (spec.style_refs or spec.style_code is not None) and not entry.serves_style_refs:
        raise PromptError(_no_adapter("--sref", "style adapter", entry, drafted_from), "--sref")


def check_character_refs_apply(spec: GenerationSpec, entry: EngineEntry, drafted_from: str | None = None) -> None:
    """`--cref` / `--oref` condition through the engine's `character_adapter` (sd, sdxl) or its `redux` (flux):
    refused by name, before a job, on an engine without one."""
    for name, refs in (("--cref", spec.character_refs), ("--oref", spec.omni_refs)):
        if refs and not entry.serves_character_refs:
            adapter = "character adapter (or, on FLUX, a Redux prior)"
            raise PromptError(_no_adapter(name, adapter, entry, drafted_from), name)


def _no_adapter(param: str, adapter: str, entry: EngineEntry, drafted_from: str | None) -> str:
    if drafted_from is not None:
        return (f"`{param}` needs an engine with a {adapter}, and the drafts of {shown(drafted_from)} run on "
                f"{shown(entry.name)}, which has none. Leave out `--draft` (or `{param}`).")
    return (f"`{param}` needs an engine with a {adapter}, and {shown(entry.name)} has none. Leave it out, or pick "
            "another engine with `--v` (`/engine list` shows which serve it).")


def check_negatives_apply(spec: GenerationSpec, entry: EngineEntry) -> None:
    """`--no` and negative `::` weights steer away through classifier-free guidance; an engine run
    without it (SDXL-Turbo, guidance 0) would drop them silently, so say so instead. FLUX applies
    them through its own true-CFG pass (engines/flux.py), whatever its guidance."""
    negative = bool(spec.negative_prompt) or any(weight < 0 for _, weight in spec.weights)
    if negative and (entry.family or entry.kind) in ("sd", "sdxl") and guidance_scale(spec, entry) <= 1:
        raise PromptError(f"`--no` and negative weights need classifier-free guidance, which {shown(entry.name)} "
                          "runs without. Leave them out, or pick another engine with `--v`.", "--no")


def plan_imagine(text: str, user: UserSettings, channel: ChannelSettings, catalogue: Catalogue,
                 settings: Settings) -> Planned:
    """The specs to submit, one per permutation / --repeat copy; PromptError names the bad token."""
    full_text = append_suffix(expand_options(text, user.options), user.suffix)
    engine_name = engine_for(channel, settings)
    if engine_name not in catalogue:
        raise PromptError(f"This channel's engine {shown(engine_name)} is not in the catalogue; "
                          "ask an admin to run `/engine set`.", engine_name)
    options = parse_options(catalogue.get(engine_name), catalogue, user, settings)
    try:
        specs = parse_prompt(full_text, options)
    except PromptError as error:
        blamed = blame_saved(error, text, user, options)
        if blamed is error:
            raise
        raise blamed from error
    try:
        fitted = [fit_engine(spec, catalogue, user.stylize, user.draft, channel.loras) for spec in specs]
    except PromptError as error:
        blamed = blame_refused_param(error, text, user)
        if blamed is error:
            raise
        raise blamed from error
    return Planned(fitted, full_text)
