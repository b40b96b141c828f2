"""A tiny random-weight BLIP captioner (the class /describe loads for real), for tests and the playground.

Built from a small BlipConfig with a fixed seed, with an in-memory WordPiece tokenizer (letters, their
`##` continuations and a few words: no files, no download), saved with `save_pretrained` and loaded back
through `engines.caption.load_caption_engine`, the code that loads `Salesforce/blip-image-captioning-*`.
Its captions are gibberish by design; the path is the real one.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import torch

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[DEC]"]
WORDS = ["a", "an", "of", "the", "in", "with", "and", "on", "photograph", "painting", "illustration", "digital",
         "artwork", "fox", "forest", "red", "light", "sky", "city", "portrait"]
IMAGE_SIZE = 64


def wordpiece_tokenizer() -> Any:
    """A BERT-style tokenizer built in memory; BLIP's processor needs one with `[DEC]` as its bos."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers

    # transformers 5 exports BertTokenizerFast (an alias of BertTokenizer) only through its lazy module
    # map, not its TYPE_CHECKING imports, so mypy cannot see it; 4.x has it as its own class.
    from transformers import BertTokenizerFast  # type: ignore[attr-defined]

    symbols = [*SPECIALS, *string.ascii_lowercase, *("##" + c for c in string.ascii_lowercase), *WORDS]
    vocab = {symbol: index for index, symbol in enumerate(dict.fromkeys(symbols))}
    model = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]"))
    model.normalizer = normalizers.BertNormalizer(lowercase=True)
    model.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    model.decoder = decoders.WordPiece()
    return BertTokenizerFast(tokenizer_object=model, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                             sep_token="[SEP]", mask_token="[MASK]", bos_token="[DEC]", model_max_length=64)


class TinyCaptioner:
    """The model and its processor, saved side by side as `Salesforce/blip-image-captioning-*` ships them."""

    def __init__(self, model: Any, processor: Any) -> None:
        self.model = model
        self.processor = processor

    def save_pretrained(self, folder: Path) -> None:
        self.model.save_pretrained(folder)
        self.processor.save_pretrained(folder)


def build_caption() -> TinyCaptioner:
    from transformers import BlipConfig, BlipForConditionalGeneration, BlipImageProcessor, BlipProcessor

    tokenizer = wordpiece_tokenizer()
    vocab = tokenizer.get_vocab()
    config = BlipConfig(
        text_config={"vocab_size": len(vocab), "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
                     "intermediate_size": 64, "max_position_embeddings": 64, "bos_token_id": vocab["[DEC]"],
                     "pad_token_id": vocab["[PAD]"], "sep_token_id": vocab["[SEP]"], "eos_token_id": vocab["[SEP]"]},
        vision_config={"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
                       "image_size": IMAGE_SIZE, "patch_size": 16},
        projection_dim=32)
    torch.manual_seed(0)
    model = BlipForConditionalGeneration(config).eval()
    image_processor = BlipImageProcessor(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE})
    return TinyCaptioner(model, BlipProcessor(image_processor=image_processor, tokenizer=tokenizer))
