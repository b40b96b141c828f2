"""`--sref` values: style reference links (each may end in `::<weight>`), and at most one style code, a
whole number or `random` (the parser then draws the code from its seed source and echoes it, so the
result's prompt can be pasted back to reuse the style)."""

from __future__ import annotations

from typing import Any

from midway.prompt import values
from midway.prompt.errors import PromptError, shown
from midway.prompt.options import MAX_SEED
from midway.prompt.tokens import IMAGE_EXTENSIONS, image_link

# Stands for `--sref random` until the parser picks the code (parse_prompt stays a pure function of its
# options' seed source).
RANDOM_CODE = -1
MAX_STYLE_REFS = 5


def style_refs(name: str, value: str) -> dict[str, Any]:
    urls: list[str] = []
    typed_weights: list[str | None] = []
    code: int | None = None
    for word in value.split():
        link = image_link(word)
        if link is not None:
            urls.append(link[0])
            typed_weights.append(link[1])
            continue
        if code is not None:
            raise PromptError(f"`--{name}` takes one style code; {shown(word)} is a second one.", word)
        code = RANDOM_CODE if word.lower() == "random" else _code(name, word)
    if len(urls) > MAX_STYLE_REFS:
        raise PromptError(f"`--{name}` takes at most {MAX_STYLE_REFS} style references, got {len(urls)}.",
                          urls[MAX_STYLE_REFS])
    return {"style_refs": urls, "style_ref_weights": values.image_weights(urls, typed_weights), "style_code": code}


MAX_CHARACTER_REFS = 5


def character_refs(name: str, value: str) -> dict[str, Any]:
    """`--cref URL[::w] ...`: links only (Midjourney has no character codes)."""
    urls, typed_weights = _links_only(name, value, "character")
    if len(urls) > MAX_CHARACTER_REFS:
        raise PromptError(f"`--{name}` takes at most {MAX_CHARACTER_REFS} character references, got {len(urls)}.",
                          urls[MAX_CHARACTER_REFS])
    return {"character_refs": urls, "character_ref_weights": values.image_weights(urls, typed_weights)}


def omni_ref(name: str, value: str) -> dict[str, Any]:
    """`--oref URL`: one link, the whole image as the subject to keep."""
    urls, typed_weights = _links_only(name, value, "omni")
    if len(urls) != 1 or typed_weights[0] is not None:
        raise PromptError(f"`--{name}` takes exactly one image link (no `::` weight; use `--ow`).", value)
    return {"omni_refs": urls}


def _links_only(name: str, value: str, kind: str) -> tuple[list[str], list[str | None]]:
    urls: list[str] = []
    typed_weights: list[str | None] = []
    for word in value.split():
        link = image_link(word)
        if link is None:
            raise PromptError(f"Invalid `--{name}` value {shown(word)}: give direct links to "
                              f"{', '.join(IMAGE_EXTENSIONS)} files as {kind} references.", word)
        urls.append(link[0])
        typed_weights.append(link[1])
    return urls, typed_weights


def _code(name: str, word: str) -> int:
    if not word.isdigit():
        raise PromptError(
            f"Invalid `--{name}` value {shown(word)}: give direct links to {', '.join(IMAGE_EXTENSIONS)} files, "
            f"a style code (a whole number from 0 to {MAX_SEED}) or `random`.", word)
    return values.whole(name, word, 0, MAX_SEED)


def echo_code(echo: list[str], code: int) -> list[str]:
    """The echoed parameters with `--sref random` showing the code it drew, so it can be reused."""
    return [" ".join(str(code) if part.lower() == "random" else part for part in item.split(" "))
            if item.startswith("--sref ") else item for item in echo]
