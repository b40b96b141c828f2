"""/shorten, the measuring half: how far the engine's text embedding moves when each word is left out.

No language model: the prompt and each of its leave-one-out variants go through the engine's own text
encoder in one batch (the CLIP encoder the images are conditioned on), and a word's score is the cosine
distance between the prompt's pooled embedding and the embedding without that word. Leaving nothing
out moves nothing (distance 0); the encoder is deterministic, so the scores are too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

# texts -> (N, D) pooled text embeddings, one row per text.
TextEncoder = Callable[[Sequence[str]], torch.Tensor]


def leave_one_out(words: Sequence[str]) -> list[str]:
    return [" ".join([*words[:index], *words[index + 1:]]) for index in range(len(words))]


def cosine_distances(reference: torch.Tensor, others: torch.Tensor) -> list[float]:
    reference = torch.nn.functional.normalize(reference.float(), dim=-1)
    others = torch.nn.functional.normalize(others.float(), dim=-1)
    return [max(0.0, float(value)) for value in (1 - others @ reference)]


@torch.inference_mode()
def word_scores(encode: TextEncoder, words: Sequence[str]) -> list[float]:
    """One score per word: the embedding's cosine distance when that word is left out."""
    words = list(words)
    if not words:
        return []
    embeddings = encode([" ".join(words), *leave_one_out(words)])
    return [round(score, 6) for score in cosine_distances(embeddings[0], embeddings[1:])]


def score_prompt(engine: object, words: Sequence[str]) -> list[float]:
    """`word_scores` with an engine's own CLIP text encoder: the one every image family conditions on
    (SD/SDXL/FLUX: the pipeline's first text encoder; unCLIP: the prior's)."""
    pipe = getattr(engine, "pipe", None) or getattr(engine, "prior", None)
    if pipe is None or getattr(pipe, "text_encoder", None) is None:
        raise ValueError(f"engine {getattr(engine, 'name', engine)!r} has no text encoder to score words with")
    encode = clip_text_encoder(pipe.tokenizer, pipe.text_encoder, pipe.text_encoder.device)
    return word_scores(encode, words)


def clip_text_encoder(tokenizer: object, text_encoder: torch.nn.Module, device: torch.device) -> TextEncoder:
    """A TextEncoder over a transformers CLIP text model: its pooled output (the end-of-text token)."""

    @torch.inference_mode()
    def encode(texts: Sequence[str]) -> torch.Tensor:
        tokens = tokenizer(list(texts), padding="max_length", truncation=True,  # type: ignore[operator]
                           max_length=getattr(tokenizer, "model_max_length", 77), return_tensors="pt")
        output = text_encoder(tokens.input_ids.to(device))
        pooled = getattr(output, "text_embeds", None)
        return pooled if pooled is not None else output.pooler_output

    return encode
