"""Line datasets for training: load (and cut) images, augment, preprocess, tokenize; batches of similar widths."""
import random
from functools import lru_cache
from typing import List, Optional, Sequence

import torch
from PIL import Image

from ocr.images import cut_line, load_image
from ocr.preprocess import collate_lines, line_to_tensor
from ocr.tokenizer import BOS, EOS, PAD

from .readers import LineSample


@lru_cache(maxsize=4)  # lines of one page arrive together: keep the page
def load_page(path: str) -> Image.Image:
    return load_image(path)


def load_line(sample: LineSample) -> Image.Image:
    """The line image of a sample: a file of its own, or a box (and polygon) cut from its page."""
    if sample.crop is None:
        return load_image(sample.image)
    return cut_line(load_page(sample.image), sample.crop, sample.polygon)


class LineDataset(torch.utils.data.Dataset):
    """Items are (image (1, H, w), token ids [BOS] ... [EOS]); `sources` are LineSample lists or map-style datasets
    of (PIL image, text), such as synthetic lines."""

    def __init__(self, sources: Sequence, tokenizer, encoder, augment=None, max_tokens: int = 160, seed: int = 0):
        self.sources = [s for s in sources if len(s)]
        self.offsets = [0]
        for s in self.sources:
            self.offsets.append(self.offsets[-1] + len(s))
        self.tokenizer, self.augment, self.max_tokens = tokenizer, augment, max_tokens
        self.seed, self.epoch = seed, 0  # augmentation of line i in an epoch depends on these only
        self.height, self.width_multiple, self.max_width = encoder.height, encoder.width_multiple, encoder.max_width

    def __len__(self):
        return self.offsets[-1]

    def locate(self, index):
        for s, (start, end) in enumerate(zip(self.offsets, self.offsets[1:])):
            if index < end:
                return self.sources[s], index - start
        raise IndexError(index)

    def raw(self, index):
        """(PIL image, text) before augmentation and preprocessing."""
        source, i = self.locate(index)
        item = source[i]
        if isinstance(item, LineSample):
            return load_line(item), item.text
        return item

    def width_hint(self, index) -> int:
        """Preprocessed width, from the image header only (or the text length for generated lines)."""
        source, i = self.locate(index)
        if hasattr(source, "width_hint"):  # generated lines that know their width
            return min(self.max_width, source.width_hint(i, self.height))
        if hasattr(source, "text"):  # generated lines: estimate from the text, do not render
            return min(self.max_width, int(self.height * 0.6 * len(source.text(i))))  # about a char per 0.6 H
        item = source[i]
        if isinstance(item, LineSample):
            if item.crop:
                w, h = item.crop[2] - item.crop[0], item.crop[3] - item.crop[1]
            else:
                with Image.open(item.image) as im:
                    w, h = im.size
            return min(self.max_width, round(w * self.height / max(h, 1)))
        image, _ = item
        return min(self.max_width, round(image.width * self.height / max(image.height, 1)))

    def __getitem__(self, index):
        image, text = self.raw(index)
        if self.augment is not None:
            image = self.augment(image, random.Random(f"{self.seed}:{self.epoch}:{index}"))
        ids = [BOS] + self.tokenizer.encode(text)[: self.max_tokens - 2] + [EOS]
        return line_to_tensor(image, self.height, self.width_multiple, self.max_width), ids


def collate(batch):
    """[(image, ids)] -> images (B, 1, H, W), widths (B,), tokens (B, T) padded with [PAD]."""
    images, widths = collate_lines([b[0] for b in batch])
    tokens = torch.full((len(batch), max(len(b[1]) for b in batch)), PAD, dtype=torch.long)
    for i, (_, ids) in enumerate(batch):
        tokens[i, : len(ids)] = torch.tensor(ids)
    return images, widths, tokens


class WidthBucketSampler(torch.utils.data.Sampler):
    """Batches of similar widths, reshuffled every epoch, identical on every run for a given (seed, epoch).

    Lines are shuffled, taken `pool` batches at a time, sorted by width inside the pool and cut into batches; the
    batches are shuffled again. With several processes, each takes every world-th batch. `skip` batches of the first
    epoch are left out, for resuming mid-epoch.
    """

    def __init__(self, widths: List[int], batch_size: int, seed: int = 0, rank: int = 0, world: int = 1,
                 pool: int = 50, drop_last: bool = False):
        self.widths, self.batch_size, self.seed = widths, batch_size, seed
        self.rank, self.world, self.pool, self.drop_last = rank, world, pool, drop_last
        self.epoch, self.skip = 0, 0

    def batches(self, epoch: int) -> List[List[int]]:
        rng = random.Random(self.seed * 100003 + epoch)
        order = list(range(len(self.widths)))
        rng.shuffle(order)
        size = self.batch_size * self.pool
        batches = []
        for start in range(0, len(order), size):
            group = sorted(order[start:start + size], key=self.widths.__getitem__)
            batches += [group[i:i + self.batch_size] for i in range(0, len(group), self.batch_size)]
        if self.drop_last:
            batches = [b for b in batches if len(b) == self.batch_size]
        rng.shuffle(batches)
        usable = len(batches) - len(batches) % self.world if len(batches) >= self.world else len(batches)
        return batches[self.rank:usable:self.world]

    def __iter__(self):
        yield from self.batches(self.epoch)[self.skip:]

    def __len__(self):
        return len(self.batches(self.epoch)) - self.skip

    def set_position(self, epoch: int, skip: int = 0):
        self.epoch, self.skip = epoch, skip
