"""Split one prompt (permutations already expanded) into its three sections.

Midjourney's order is `[image URLs] text [--params]`. Parameters start at the first word that begins
with `--`; after that every word is a parameter or a parameter's value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from midway.prompt.errors import PromptError, shown

IMAGE_EXTENSIONS = (".png", ".gif", ".jpg", ".jpeg", ".webp")
_EXTENSIONS_LISTED = ", ".join(IMAGE_EXTENSIONS)
# Apple keyboards turn `--` into an em dash; Midjourney accepts `—` (and we also `–`) instead.
_DASH_PARAM = re.compile(r"(?<!\S)[—–]-?(?=\S)")
# Discord shows links in angle brackets to suppress embeds; people paste them that way.
_LINK = re.compile(r"<?(https?://[^\s<>]+)>?", re.IGNORECASE)


@dataclass(frozen=True)
class RawParam:
    token: str  # as typed, e.g. "--AR"
    name: str  # lower case, dashes removed, e.g. "ar"
    values: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Sections:
    image_urls: list[str]
    words: list[str]
    params: list[RawParam]


def normalise_dashes(text: str) -> str:
    return _DASH_PARAM.sub("--", text)


def split_sections(text: str) -> Sections:
    words = normalise_dashes(text).split()
    image_urls: list[str] = []
    while words and (url := _leading_link(words[0])) is not None:
        image_urls.append(url)
        words.pop(0)
    first_param = next((i for i, word in enumerate(words) if word.startswith("--")), len(words))
    return Sections(image_urls, words[:first_param], _group_params(words[first_param:]))


def _leading_link(word: str) -> str | None:
    """The image URL `word` is, None when it is no link; PromptError for a link that is no image."""
    match = _LINK.fullmatch(word)
    if match is None:
        return None
    url = match.group(1)
    try:
        path = urlsplit(url).path.lower()
    except ValueError:
        path = ""
    if not path.endswith(IMAGE_EXTENSIONS):
        raise PromptError(
            f"Invalid link {shown(url)}: image prompts must be direct links to a {_EXTENSIONS_LISTED} file.",
            url,
        )
    return url


def _group_params(words: list[str]) -> list[RawParam]:
    params: list[RawParam] = []
    for word in words:
        if word.startswith("--"):
            params.append(RawParam(token=word, name=word[2:].lower()))
        else:
            params[-1].values.append(word)
    return params
