"""The tiny CLIP text tower every tiny pipeline shares: an in-memory byte-level tokenizer and its config."""

from __future__ import annotations

from typing import Any


def clip_tokenizer() -> Any:
    """A byte-level CLIP tokenizer built in memory (no files, no download): every byte is a token."""
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import CLIPTokenizer

    alphabet = sorted(ByteLevel.alphabet())
    vocab: dict[str, int] = {}
    for symbol in alphabet + [s + "</w>" for s in alphabet] + ["<|startoftext|>", "<|endoftext|>"]:
        vocab.setdefault(symbol, len(vocab))
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)


def text_config(projection_dim: int = 32) -> Any:
    """A two-layer CLIP text encoder's config whose vocabulary matches `clip_tokenizer`."""
    from transformers import CLIPTextConfig

    return CLIPTextConfig(hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2,
                          vocab_size=514, max_position_embeddings=77, projection_dim=projection_dim,
                          bos_token_id=512, eos_token_id=513, pad_token_id=513)
