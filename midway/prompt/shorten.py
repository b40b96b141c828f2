"""/shorten, the pure half: a prompt's words, the five shorter prompts its word scores give, and the
ranked view the bot shows (the scores come from the engine's text encoder on a worker, engines/shorten.py).

A word's score is how far the prompt's text embedding moves when that word alone is left out, so the
words that carry the prompt score highest and filler ("very", "the", "and") lowest. The five prompts
keep the best-scoring 20%, 35%, 50%, 65% and 80% of the words (most aggressive first, as Midjourney
lists them), in the prompt's own order, each followed by the prompt's parameters unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from midway.prompt.tokens import normalise_dashes, split_sections

KEEP_FRACTIONS = (0.2, 0.35, 0.5, 0.65, 0.8)
# Words at or above the median option's cut are shown **bold**, the others ~~struck~~.
BOLD_FRACTION = 0.5


@dataclass(frozen=True)
class ShortenInput:
    """A prompt cut for shortening: leading image URLs and trailing parameters are kept as typed."""

    images: list[str]
    words: list[str]
    params: str

    def rebuild(self, words: list[str]) -> str:
        return " ".join([*self.images, *words, *([self.params] if self.params else [])])


def shorten_input(text: str) -> ShortenInput:
    sections = split_sections(text)
    words = normalise_dashes(text).split()
    params = " ".join(words[len(sections.image_urls) + len(sections.words):])
    return ShortenInput(words[: len(sections.image_urls)], sections.words, params)


def kept_counts(count: int) -> list[int]:
    """How many words each of the five prompts keeps: rising, at least one, fewer than all when possible."""
    # Halves round up (Python's round() goes to even: 4.5 -> 4 but 3.5 -> 4).
    return [min(count, max(1, math.floor(count * fraction + 0.5))) for fraction in KEEP_FRACTIONS]


def ranking(scores: list[float]) -> list[int]:
    """Word indices from the most to the least important; ties keep the prompt's order."""
    return sorted(range(len(scores)), key=lambda index: (-scores[index], index))


def shortened_prompts(prompt: ShortenInput, scores: list[float]) -> list[str]:
    """The five shorter prompts, most aggressive first, parameters kept."""
    if len(scores) != len(prompt.words):
        raise ValueError(f"{len(scores)} scores for {len(prompt.words)} words")
    order = ranking(scores)
    prompts = []
    for count in kept_counts(len(order)):
        words = [prompt.words[index] for index in sorted(order[:count])]
        # A phrase cut after its comma ("golden hour,") would leave the prompt ending in one.
        words[-1] = words[-1].rstrip(",;:") or words[-1]
        prompts.append(prompt.rebuild(words))
    return prompts


def shares(scores: list[float]) -> list[float]:
    """Scores as shares of their total (what the CLI prints): they add up to 1, or are all 0."""
    total = sum(max(0.0, score) for score in scores)
    return [round(max(0.0, score) / total, 4) if total > 0 else 0.0 for score in scores]


def marked_prompt(prompt: ShortenInput, scores: list[float]) -> str:
    """The prompt with its important words **bold** and the rest ~~struck~~ (Discord markdown)."""
    order = ranking(scores)
    bold = set(order[: max(1, math.ceil(len(order) * BOLD_FRACTION))]) if order else set()
    marked = [f"**{word}**" if index in bold else f"~~{word}~~" for index, word in enumerate(prompt.words)]
    return " ".join(marked)
