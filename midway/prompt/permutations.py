"""`{a, b}` permutation prompts: one prompt text in, the list of prompt texts it stands for out.

Groups multiply (`{a, b} {c, d}` -> 4), nest (`--v {5.2, 6 {, --style raw}}` -> 3) and may sit
anywhere, parameters included. `\\,` `\\{` `\\}` are literal. The count is computed on the parsed
tree *before* expanding, so `{a,b}` repeated 30 times is refused at once instead of building 2**30
strings.
"""

from __future__ import annotations

from midway.prompt.errors import PromptError, shown

ESCAPABLE = frozenset(",{}")
# Nothing a person types nests deeper; the bound also keeps the recursive helpers far from
# Python's recursion limit whatever arrives.
MAX_DEPTH = 16
# Counts past this are reported as "more than"; exact products of thousands of groups are useless.
COUNT_CEILING = 1_000_000

# A sequence of literal text and groups; a group is a list of alternatives, each a sequence.
Sequence = list["str | Group"]
Group = list[Sequence]


def expand_permutations(text: str, limit: int) -> list[str]:
    """Every prompt text `text` stands for, in order; PromptError when over `limit` or malformed."""
    if not any(ch in text for ch in "{}\\"):
        return [text]
    tree = _parse(text)
    count = _count(tree)
    if count > limit:
        amount = f"more than {COUNT_CEILING:,}" if count >= COUNT_CEILING else str(count)
        raise PromptError(
            f"This prompt's `{{…}}` permutations make {amount} prompts; the limit is {limit}.", str(count)
        )
    return _expand(tree)


def _parse(text: str) -> Sequence:
    root: Sequence = []
    # The groups currently open, innermost last; `current` is the sequence being filled.
    open_groups: list[Group] = []
    current = root
    literal: list[str] = []

    def flush() -> None:
        if literal:
            current.append("".join(literal))
            literal.clear()

    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text) and text[index + 1] in ESCAPABLE:
            literal.append(text[index + 1])
            index += 2
            continue
        if char == "{":
            flush()
            if len(open_groups) >= MAX_DEPTH:
                raise PromptError(f"Permutation groups nest more than {MAX_DEPTH} deep at {shown('{')}.", "{")
            group: Group = [[]]
            current.append(group)
            open_groups.append(group)
            current = group[-1]
        elif char == "}":
            if not open_groups:
                raise PromptError(_unbalanced("}", "has no matching `{`"), "}")
            flush()
            open_groups.pop()
            current = open_groups[-1][-1] if open_groups else root
        elif char == "," and open_groups:
            flush()
            open_groups[-1].append([])
            current = open_groups[-1][-1]
        else:
            literal.append(char)
        index += 1
    if open_groups:
        raise PromptError(_unbalanced("{", "is never closed with `}`"), "{")
    flush()
    return root


def _unbalanced(brace: str, problem: str) -> str:
    return f"A {shown(brace)} in your prompt {problem}; write `\\{brace}` for a literal brace."


def _count(sequence: Sequence) -> int:
    total = 1
    for part in sequence:
        if isinstance(part, list):
            total *= sum(_count(alternative) for alternative in part)
            # Saturate: the exact product of hundreds of groups is a number nobody needs.
            total = min(total, COUNT_CEILING)
    return total


def _expand(sequence: Sequence) -> list[str]:
    results = [""]
    for part in sequence:
        if isinstance(part, str):
            results = [done + part for done in results]
        else:
            # Spaces after commas separate alternatives; they are not part of them.
            options = [text.strip() for alternative in part for text in _expand(alternative)]
            results = [done + option for done in results for option in options]
    return results
