"""Text <-> token ids, built with Hugging Face `tokenizers` and saved as tokenizer.json.

Character-level by default: the charset is learned from the training text (NFC), so any script works. BPE is optional
for large-vocabulary text. Ids 0-3 are the special tokens in every tokenizer.
"""
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Iterable, List

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

SPECIAL_TOKENS = ["[PAD]", "[BOS]", "[EOS]", "[UNK]"]
PAD, BOS, EOS, UNK = range(4)


class TextTokenizer:
    def __init__(self, tokenizer: Tokenizer):
        self.tokenizer = tokenizer
        self.vocab_size = tokenizer.get_vocab_size()

    @classmethod
    def char_level(cls, texts: Iterable[str], min_count: int = 1) -> "TextTokenizer":
        """One token per character seen at least `min_count` times in `texts` (after NFC)."""
        counts = Counter(c for t in texts for c in unicodedata.normalize("NFC", t))
        return cls._from_chars(SPECIAL_TOKENS + sorted(c for c, n in counts.items() if n >= min_count))

    @classmethod
    def _from_chars(cls, tokens: List[str]) -> "TextTokenizer":
        tok = Tokenizer(models.WordLevel({t: i for i, t in enumerate(tokens)}, unk_token="[UNK]"))
        tok.normalizer = normalizers.NFC()
        tok.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")  # every character a token
        tok.decoder = decoders.Fuse()
        tok.add_special_tokens(SPECIAL_TOKENS)
        return cls(tok)

    @classmethod
    def bpe(cls, texts: Iterable[str], vocab_size: int = 1000) -> "TextTokenizer":
        """Byte-pair encoding over Metaspace-split words, for scripts or corpora with long common words."""
        tok = Tokenizer(models.BPE(unk_token="[UNK]"))
        tok.normalizer = normalizers.NFC()
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        tok.decoder = decoders.Metaspace()
        tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS))
        return cls(tok)

    @classmethod
    def load(cls, path) -> "TextTokenizer":
        return cls(Tokenizer.from_file(str(path)))

    def save(self, path):
        self.tokenizer.save(str(path))

    @property
    def is_char_level(self) -> bool:
        return isinstance(self.tokenizer.model, models.WordLevel)

    def same_tokens(self, other: "TextTokenizer") -> bool:
        """Whether both map every token to the same id: models with them can share weights (distil, average)."""
        return self.tokenizer.get_vocab() == other.tokenizer.get_vocab()

    @property
    def tokens(self) -> List[str]:
        """Every token, by id."""
        vocab = self.tokenizer.get_vocab()
        return sorted(vocab, key=vocab.get)

    @property
    def charset(self) -> set:
        """Characters the tokenizer can write (char-level) or that appear in its tokens (BPE)."""
        chars = set()
        for token in self.tokenizer.get_vocab():
            if token not in SPECIAL_TOKENS:
                chars.update(token.replace("\u2581", " "))
        return chars

    def unknown_characters(self, text: str) -> set:
        return set(unicodedata.normalize("NFC", text)) - self.charset

    def extend(self, chars: Iterable[str]) -> "TextTokenizer":
        """A char-level tokenizer with `chars` appended: old ids keep their meaning, new ones come last."""
        if not self.is_char_level:
            raise ValueError("only a character-level tokenizer can grow its charset")
        new = sorted(set(unicodedata.normalize("NFC", "".join(chars))) - set(self.tokens))
        return self._from_chars(self.tokens + new)

    def encode(self, text: str) -> List[int]:
        """Token ids of `text`, without [BOS]/[EOS]."""
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: List[str]) -> List[List[int]]:
        return [e.ids for e in self.tokenizer.encode_batch(texts, add_special_tokens=False)]

    def decode(self, ids: List[int]) -> str:
        return self.tokenizer.decode(list(ids), skip_special_tokens=True)

    def token_spans(self, ids: List[int]) -> List[int]:
        """How many characters of decode(ids) each token contributes, so token scores map onto characters."""
        if self.is_char_level:
            return [int(i >= len(SPECIAL_TOKENS)) for i in ids]
        spans, previous = [], 0
        for i in range(1, len(ids) + 1):
            length = len(self.decode(ids[:i]))
            spans.append(length - previous)
            previous = length
        return spans
