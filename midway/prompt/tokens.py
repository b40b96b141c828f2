"""Split one prompt (permutations already expanded) into its three sections.

Midjourney's order is `[image URLs] text [--params]`. Parameters start at the first word that begins
with `--`; after that every word is a parameter or a parameter's value. An image URL may end in
`::<weight>` (`https://a.png::2 https://b.png a fox`) to weigh the images against each other.
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
# A leading link of another scheme (`file:///etc/a.png`, `ftp://...`) was meant as an image prompt that
# could never be fetched: refused by name rather than silently kept as prompt text.
_OTHER_SCHEME = re.compile(r"<?((?!https?://)[a-z][a-z0-9+.-]*://\S*?)>?", re.IGNORECASE)


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
    # Per image, the `::` weight as typed (None: none typed); empty when the prompt has no image URLs.
    image_weights: list[str | None] = field(default_factory=list)


# Invisible characters that `str.split` keeps inside words: pasted before a parameter, one would turn
# `--ar 16:9` into prompt text without a word of warning.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u2060\ufeff"))  # not ZWJ/ZWNJ: emoji and scripts use them


def normalise_dashes(text: str) -> str:
    return _DASH_PARAM.sub("--", text.translate(_INVISIBLE))


def split_sections(text: str) -> Sections:
    words = normalise_dashes(text).split()
    image_urls: list[str] = []
    image_weights: list[str | None] = []
    while words and (image := _prompt_image(words[0])) is not None:
        image_urls.append(image[0])
        image_weights.append(image[1])
        words.pop(0)
    first_param = next((i for i, word in enumerate(words) if word.startswith("--")), len(words))
    return Sections(image_urls, words[:first_param], _group_params(words[first_param:]), image_weights)


def image_link(word: str) -> tuple[str, str | None] | None:
    """(image URL, its `::` weight as typed) of a word that is an image link (--sref's values too)."""
    return _leading_image(word)


def _prompt_image(word: str) -> tuple[str, str | None] | None:
    """_leading_image, for the words before the text: a link of another scheme is refused there too
    (a parameter's value names its parameter instead, in its own message)."""
    other = _OTHER_SCHEME.fullmatch(word)
    if other is not None:
        raise PromptError(f"Invalid link {shown(other.group(1))}: image prompts must be http:// or https:// "
                          f"links to a {_EXTENSIONS_LISTED} file.", other.group(1))
    return _leading_image(word)


def _leading_image(word: str) -> tuple[str, str | None] | None:
    """(image URL, its `::` weight as typed or None) when `word` is an image prompt, None when it is no
    link; PromptError for a link that is no image. A link that is an image as a whole keeps any `::` in
    it, so only a URL that stops being an image with its `::` part counts as weighted."""
    url = _link(word)
    if url is not None and _is_image(url):
        return url, None
    head, separator, weight = word.rpartition("::")
    head_url = _link(head) if separator else None
    if head_url is not None and _is_image(head_url):
        return head_url, weight
    bad = url or head_url
    if bad is None:
        return None
    raise PromptError(
        f"Invalid link {shown(bad)}: image prompts must be direct links to a {_EXTENSIONS_LISTED} file.",
        bad,
    )


def _link(word: str) -> str | None:
    match = _LINK.fullmatch(word)
    return None if match is None else match.group(1)


def _is_image(url: str) -> bool:
    try:
        path = urlsplit(url).path.lower()
    except ValueError:
        path = ""
    return path.endswith(IMAGE_EXTENSIONS)


def _group_params(words: list[str]) -> list[RawParam]:
    params: list[RawParam] = []
    for word in words:
        if word.startswith("--"):
            params.append(RawParam(token=word, name=word[2:].lower()))
        else:
            params[-1].values.append(word)
    return params
