"""Where the decoder looked for each character of a line's text, from ocr.recognizer.attention_map."""
from dataclasses import dataclass
from typing import List, Optional

import numpy as np
from PIL import Image

from ocr.recognizer import Recognizer, attention_map


@dataclass
class LineAttention:
    text: str
    maps: np.ndarray  # (tokens + 1, rows, cols): row t while writing token t, the last row while writing the end
    line: np.ndarray  # the preprocessed line (H, W) the maps lie over: ink 1, paper 0
    token_of_char: List[int]  # the row of `maps` that wrote each character of `text`

    def heat(self, char: Optional[int]) -> np.ndarray:
        """The map of character `char` (an index into `text`), or of the end of the line for None."""
        return self.maps[-1 if char is None else self.token_of_char[char]]


def line_attention(recognizer: Recognizer, crop: Image.Image, text: str) -> LineAttention:
    maps, line = attention_map(recognizer, crop, text)
    tokenizer = recognizer.tokenizer
    # a token may write several characters (BPE): every character points at the token that wrote it
    spans = tokenizer.token_spans(tokenizer.encode(text))
    token_of_char = [t for t, n in enumerate(spans) for _ in range(n)][: len(text)]
    token_of_char += [max(len(spans) - 1, 0)] * (len(text) - len(token_of_char))  # text the tokenizer cannot spell
    return LineAttention(text, maps.numpy(), line[0].numpy(), token_of_char)
