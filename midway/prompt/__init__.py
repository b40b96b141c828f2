"""The Midjourney prompt grammar: `parse_prompt(text, ParseOptions(...)) -> list[GenerationSpec]`."""

from midway.prompt.errors import PromptError
from midway.prompt.options import ParseOptions
from midway.prompt.parser import parse_prompt

__all__ = ["ParseOptions", "PromptError", "parse_prompt"]
