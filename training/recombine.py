"""New training lines from the words of real ones: a small set of one writer's lines, read in new orders.

A model that has learnt its training lines by heart (handwriting: 5 % CER on them, 20 % on held-out pages) gains
from seeing the same hand in sentences it has not seen. The words are cut where a model's CTC head, forced to the
line's transcription, puts the spaces (`align_words`); `RecombinedLines` writes a stretch of the training text with,
for every word, the image of one of its occurrences, scaled to one height and set side by side.
"""
import hashlib
import json
import random
from collections import defaultdict
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np
import torch
from PIL import Image

from ocr.atomic import write_atomic
from ocr.decoding import ctc_logprobs
from ocr.preprocess import collate_lines, line_to_tensor
from ocr.tokenizer import PAD

from .config import RECOMBINED_ORDERS
from .dataset import load_line
from .readers import LineSample


def forced_path(logp: np.ndarray, ids: Sequence[int], blank: int = PAD) -> List[int]:
    """Most likely CTC path of frames `logp` (T, V) that reads `ids`: for each frame, the index of the label it
    writes in `ids`, or -1 for a blank. Needs T >= len(ids) plus one frame per doubled letter."""
    ext = np.full(2 * len(ids) + 1, blank)
    ext[1::2] = ids
    S, T = len(ext), logp.shape[0]
    emit = logp[:, ext]
    skip = np.zeros(S, bool)  # a label may follow the one before the blank between them, unless they are equal
    skip[2:] = (ext[2:] != blank) & (ext[2:] != ext[:-2])
    score = np.full(S, -np.inf)
    score[:2] = emit[0, :2]
    back = np.zeros((T, S), np.int8)
    for t in range(1, T):
        one = np.concatenate([[-np.inf], score[:-1]])
        two = np.where(skip, np.concatenate([[-np.inf, -np.inf], score[:-2]]), -np.inf)
        moves = np.stack([score, one, two])
        back[t] = moves.argmax(0)
        score = moves[back[t], np.arange(S)] + emit[t]
    s = S - 1 if S == 1 or score[-1] >= score[-2] else S - 2
    if not np.isfinite(score[s]):
        raise ValueError(f"{T} frames cannot read {len(ids)} labels")
    states = [s]
    for t in range(T - 1, 0, -1):
        s -= back[t, s]
        states.append(s)
    return [(s - 1) // 2 if s % 2 else -1 for s in reversed(states)]


def word_cuts(path: Sequence[int], ids: Sequence[int], space: int, pixels_per_frame: float, width: int) -> list:
    """[[x0, x1, word label indices]] of a line `width` pixels wide: each word from midway between it and the word
    before to midway between it and the next, by the frames that write its first and last letters."""
    first, last = {}, {}
    for t, k in enumerate(path):
        if k >= 0:
            first.setdefault(k, t)
            last[k] = t
    words, current = [], []
    for k, token in enumerate(list(ids) + [space]):
        if token != space:
            current.append(k)
        elif current:
            words.append(current)
            current = []
    spans = [(first[w[0]] * pixels_per_frame, (last[w[-1]] + 1) * pixels_per_frame) for w in words]
    cuts = [0.0] + [(a[1] + b[0]) / 2 for a, b in zip(spans, spans[1:])] + [float(width)]
    return [[round(cuts[i]), round(cuts[i + 1]), w] for i, w in enumerate(words)]


@torch.inference_mode()
def align_words(model, tokenizer, samples: Sequence[LineSample], batch_size: int = 16, progress=None) -> list:
    """For each line the CTC head can read as transcribed: {"image", "crop", "polygon", "text", "height", "words":
    [[x0, x1, word]]} with x in the line image's pixels. Lines it cannot align (more letters than frames, a
    character outside the tokenizer) are left out."""
    model.eval()
    space = tokenizer.encode(" ")
    if len(space) != 1:
        raise ValueError("word cuts need a tokenizer that writes a space as one token")
    H, multiple, max_width = model.height, model.encoder.width_multiple, model.encoder.max_width
    order = sorted(range(len(samples)), key=lambda i: len(samples[i].text))  # similar widths share a batch
    aligned = {}
    for start in range(0, len(order), batch_size):
        batch = [samples[i] for i in order[start:start + batch_size]]
        images = [load_line(s) for s in batch]
        x, widths = collate_lines([line_to_tensor(im, H, multiple, max_width) for im in images])
        logp, frames = ctc_logprobs(model, *model.encode(x, widths))
        for i, s, image, lp, n in zip(order[start:start + batch_size], batch, images, logp.numpy(), frames.tolist()):
            ids = tokenizer.encode(s.text)
            if not ids or tokenizer.decode(ids) != s.text:
                continue
            try:
                path = forced_path(lp[:n], ids)
            except ValueError:
                continue
            scaled = min(round(image.width * H / image.height), max_width)  # the width the model read
            per_frame = multiple / model.config.ctc_frames * image.width / max(scaled, 1)
            words = [[x0, x1, tokenizer.decode([ids[k] for k in w])]
                     for x0, x1, w in word_cuts(path, ids, space[0], per_frame, image.width)]
            aligned[i] = {"image": s.image, "crop": s.crop, "polygon": s.polygon, "text": s.text,
                          "group": s.group, "height": image.height, "words": words}
        if progress:
            progress(len(batch))
    return [aligned[i] for i in sorted(aligned)]  # in the order of the text, which recombined lines follow


def load_or_align(path: Path, model_folder, samples, log=None) -> list:
    """The word cuts of `samples`, cached in `path` with what they were cut from (a run cuts once, --resume reads
    them back; other lines or another model in the same folder are cut again)."""
    source = hashlib.sha256(json.dumps([str(model_folder), [(s.image, s.crop, s.text) for s in samples]],
                                       ensure_ascii=False).encode()).hexdigest()
    if path.exists():
        cached = json.loads(path.read_text(encoding="utf-8"))
        if cached.get("source") == source:
            return cached["lines"]
    from ocr.checkpoint import load_model

    model, tokenizer = load_model(model_folder)
    if model.ctc_head is None:
        from ocr.errors import VitocrError

        raise VitocrError(f"--recombined needs a model with a CTC head to cut words: {model_folder} has none; "
                          "give an --init-from model trained with --ctc-weight.")
    if log:
        log(f"cutting the words of {len(samples)} training lines with the CTC head of {model_folder}")
    aligned = align_words(model, tokenizer, samples)
    if log:
        log(f"{len(aligned)} of {len(samples)} lines cut into words (the others have more letters than frames, or "
            "characters the model does not know)")
    write_atomic(path, json.dumps({"source": source, "lines": aligned}, ensure_ascii=False))
    return aligned


class RecombinedLines:
    """`count` (image, text) lines; item i depends only on (seed, i). Its text holds as many words as a random
    aligned line, from a random word of the aligned lines' text on: with order "text" the stretch of the text that
    follows, with order "bigrams" a walk in which each word is followed by what follows one of its occurrences (new
    sentences, every pair of words one the writer wrote). Each word is drawn by one of its occurrences at random,
    cut from its line, its paper brought to white, scaled to a common height."""

    def __init__(self, aligned: list, count: int, seed: int = 0, height: int = 96, order: str = "text"):
        if order not in RECOMBINED_ORDERS:
            raise ValueError(f"unknown order {order!r} of recombined words: "
                             f"choose one of {', '.join(RECOMBINED_ORDERS)}")
        self.count, self.seed, self.height, self.order = count, seed, height, order
        self.lines = [a for a in aligned if a["words"]]
        self.stream = [(n, k) for n, a in enumerate(self.lines) for k in range(len(a["words"]))]
        self.occurrences: Dict[str, List[tuple]] = defaultdict(list)
        self.followers: Dict[str, List[int]] = defaultdict(list)  # stream positions that follow the word
        for p, (n, k) in enumerate(self.stream):
            word = self.lines[n]["words"][k][2]
            self.occurrences[word].append((n, k))
            if p + 1 < len(self.stream):
                self.followers[word].append(p + 1)

    def __len__(self) -> int:
        return self.count if self.stream else 0

    def _plan(self, index: int) -> List[tuple]:
        rng = random.Random(f"{self.seed}:{index}")
        length = len(rng.choice(self.lines)["words"])
        position = rng.randrange(len(self.stream))
        if self.order == "text":
            positions = range(position, min(position + length, len(self.stream)))
        else:
            positions = [position]
            while len(positions) < length and self.followers[self._word(position)]:
                position = rng.choice(self.followers[self._word(position)])
                positions.append(position)
        return [rng.choice(self.occurrences[self._word(p)]) for p in positions]

    def _word(self, position: int) -> str:
        n, k = self.stream[position]
        return self.lines[n]["words"][k][2]

    def text(self, index: int) -> str:
        return self._text(self._plan(index))

    def _text(self, plan) -> str:
        return " ".join(self.lines[n]["words"][k][2] for n, k in plan)

    def width_hint(self, index: int, height: int) -> int:
        """Width at `height` pixels, from the cuts alone (no image is loaded)."""
        return round(sum((self.lines[n]["words"][k][1] - self.lines[n]["words"][k][0]) / self.lines[n]["height"]
                         for n, k in self._plan(index)) * height)

    def __getitem__(self, index: int):
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} lines")
        plan, pieces = self._plan(index), []
        for n, k in plan:
            x0, x1, _ = self.lines[n]["words"][k]
            image = self._line(n)
            word = np.asarray(image.crop((x0, 0, max(x1, x0 + 1), image.height)), dtype=np.float32)
            paper = max(np.percentile(word, 90), 1.0)
            word = np.clip(word * (255.0 / paper), 0, 255).astype(np.uint8)
            width = max(1, round(word.shape[1] * self.height / word.shape[0]))
            pieces.append(Image.fromarray(word).resize((width, self.height), Image.Resampling.BILINEAR))
        canvas = Image.new("L", (sum(p.width for p in pieces), self.height), 255)
        x = 0
        for p in pieces:
            canvas.paste(p, (x, 0))
            x += p.width
        return canvas, self._text(plan)

    @lru_cache(maxsize=8192)  # a few hundred MB for a set of thousands of lines; decoding the files cost more
    def _line(self, n: int) -> Image.Image:
        line = self.lines[n]
        crop = tuple(line["crop"]) if line["crop"] is not None else None
        return load_line(LineSample(line["image"], line["text"], crop=crop, polygon=line["polygon"])).convert("L")
