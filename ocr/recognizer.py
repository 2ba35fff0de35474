"""Line images in, text and confidences out: preprocessing, width-bucketed batches, decoding, detokenisation."""
import contextlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Optional, Sequence

import torch
from PIL import Image

from .charlm import FILE as LM_FILE, LanguageModel, load_lm
from .checkpoint import load_model
from .decoding import beam_search, ctc_search, greedy_search
from .errors import VitocrError
from .preprocess import collate_lines, line_to_tensor


@dataclass
class LineResult:
    text: str
    confidence: float  # geometric mean of the token probabilities, [EOS] included
    char_confidences: List[float] = field(default_factory=list)  # one per character of `text`


def resolve_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise VitocrError(f"device {device!r} was asked for but no CUDA GPU is available; use --device cpu.")
    return torch.device(device)


def cpu_has_native_bf16() -> bool:
    """AVX512-BF16 or AMX: there bf16 matrix products run about 3x faster than float32 (BENCHMARKS.md); on other
    CPUs torch emulates bf16, many times slower."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # private, hence the fallback
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


DECODERS = ("auto", "attention", "ctc", "joint")
# A line whose darkest pixel is this close to its paper (ink scale 0-1) holds no text: a blank or uniform image, which
# a decoder would otherwise read as some letter. The faintest of 400 real handwritten lines reaches 0.25.
BLANK_INK = 0.1
# How a line is seen with `views` > 1, first to last (line_to_tensor's settings): the readings of these copies make
# different mistakes, and the search averages them. Chosen on 150 held-out handwritten lines (`handwritten` MODEL.md).
VIEWS = (("as is", {}), ("zoomed out", {"margin": 0.2}), ("squeezed", {"width_scale": 0.9}))


class Recognizer:
    """`decoder`: attention (the Transformer decoder: greedy, or beam search with beams > 1), ctc (the encoder's CTC
    head, best path: fast, no beams), joint (beam search scored by both, even at 1 beam), or auto: what the model's
    config.json names (`decoding`). With a language model `lm` and `lm_weight` > 0 (default: config.json's), beam
    search of 2 or more beams also ranks by the language model: at 1 beam it has no alternatives to weigh, and made
    every reader worse where measured (MODEL.md of `handwritten`); greedy, 1-beam and CTC reading never use it.
    `views` (default: config.json's): the decoder and joint readers read each line as that many of VIEWS at once,
    the search averaging their votes (test-time augmentation: slower, fewer errors on handwriting). The model is moved
    to the device and its convolution weights stored channels-last, in place (`OCRModel.channels_last`): save it with
    `ocr.save_model`, which writes contiguous copies."""

    def __init__(self, model, tokenizer, device: str = "auto", decoder: str = "auto",
                 lm: Optional[LanguageModel] = None, lm_weight: Optional[float] = None, views: Optional[int] = None):
        self.device = resolve_device(device)
        self.model, self.tokenizer = model.to(self.device).channels_last().eval(), tokenizer
        if decoder not in DECODERS:
            raise VitocrError(f"unknown decoder {decoder!r}; use one of {', '.join(DECODERS)}.")
        self.decoder = model.config.decoding if decoder == "auto" else decoder
        if self.decoder in ("ctc", "joint") and model.ctc_head is None:
            raise VitocrError(f"--decoder {self.decoder} needs a CTC head, and this model has none (trained without "
                              "--ctc-weight); use --decoder attention.")
        self.lm, self.lm_weight = lm, model.config.lm_weight if lm_weight is None else lm_weight
        if self.lm_weight < 0:
            raise VitocrError(f"the language model's weight cannot be negative, got {self.lm_weight}.")
        if self.lm_weight and lm is None:
            raise VitocrError(f"a language model weight of {self.lm_weight} needs the model folder's {LM_FILE}, and "
                              "there is none; build one with `vitocr lm`, or use --lm-weight 0.")
        self.views = views or model.config.views
        if not 1 <= self.views <= len(VIEWS):
            raise VitocrError(f"a line can be read in 1 to {len(VIEWS)} views, not {self.views}.")
        if self.decoder == "ctc":  # the model's own views are for its other readers
            if views and views > 1:
                raise VitocrError(f"{views} views need the attention or joint decoder, the CTC head reads one; use "
                                  "--decoder joint, or --views 1.")
            self.views = 1

    @classmethod
    def load(cls, folder, device: str = "auto", decoder: str = "auto",
             lm_weight: Optional[float] = None, views: Optional[int] = None) -> "Recognizer":
        """The model in `folder`, with its language model (lm.json) when it has one and reads with it."""
        model, tokenizer = load_model(folder)
        path = Path(folder) / LM_FILE
        weight = model.config.lm_weight if lm_weight is None else lm_weight
        lm = load_lm(path, tokenizer.tokens) if weight and path.is_file() else None
        return cls(model, tokenizer, device, decoder, lm, lm_weight, views)

    def autocast(self):
        """fp16/bf16 on CUDA, where it is fast; full precision on CPU: bf16 is slow on most CPUs, and on those with
        native bf16 (`cpu_has_native_bf16`) the bundled models read only 1.2x faster with it, and not always alike."""
        if self.device.type != "cuda":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.autocast("cuda", dtype=dtype)

    def prepare(self, image: Image.Image, **view) -> torch.Tensor:
        enc = self.model.encoder
        return line_to_tensor(image, enc.height, enc.width_multiple, enc.max_width, **view)

    def recognize(self, images: Sequence[Image.Image], beams: Optional[int] = None, batch_size: int = 16,
                  length_penalty: float = 1.0, progress: Optional[Callable[[int], None]] = None) -> List[LineResult]:
        """Read every line image; lines of similar width share a batch; results come back in input order.
        `beams` (default: the model's, config.json's `beams`) applies to the attention and joint decoders; CTC reads
        the best path."""
        beams = self.model.config.beams if beams is None else beams
        if beams < 1:
            raise VitocrError(f"the beam width must be at least 1 (1 = greedy), got {beams}.")
        lm_weight = self.lm_weight_at(beams)
        tensors = [self.prepare(im) for im in images]
        results: List[Optional[LineResult]] = [LineResult("", 1.0) if float(t.amax()) < BLANK_INK else None
                                               for t in tensors]
        order = sorted((i for i, r in enumerate(results) if r is None), key=lambda i: tensors[i].shape[-1])
        other_views = {i: [self.prepare(images[i], **view) for _, view in VIEWS[1:self.views]] for i in order}
        if progress and len(order) < len(results):  # blank lines are read too, without the model
            progress(len(results) - len(order))
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            batch, widths = collate_lines([tensors[i] for i in chunk])
            batch, widths = batch.to(self.device), widths.to(self.device)
            more = [tuple(t.to(self.device) for t in collate_lines([other_views[i][v] for i in chunk]))
                    for v in range(self.views - 1)]
            with self.autocast():
                if self.decoder == "ctc":
                    hyps = ctc_search(self.model, batch, widths)
                elif self.decoder == "joint":
                    hyps = beam_search(self.model, batch, widths, beams, length_penalty,
                                       ctc_weight=self.model.config.joint_weight, lm=self.lm, lm_weight=lm_weight,
                                       more_views=more)
                elif beams > 1 or more:  # one beam over several views: greedy search of their averaged votes
                    hyps = beam_search(self.model, batch, widths, beams, length_penalty, lm=self.lm,
                                       lm_weight=lm_weight, more_views=more)
                else:
                    hyps = greedy_search(self.model, batch, widths)
            for i, hyp in zip(chunk, hyps):
                results[i] = self.to_result(hyp)
            if progress:
                progress(len(chunk))
        return results

    def lm_weight_at(self, beams: int) -> float:
        """The language model's weight when reading with `beams`: none at 1 beam (nothing to weigh)."""
        return self.lm_weight if beams > 1 else 0.0

    def reading(self, beams: Optional[int] = None) -> str:
        """How `recognize(beams=...)` reads, in words, for reports: "joint (decoder + CTC head), 2 beams, language
        model x 0.3, 2 views (as is, zoomed out)"."""
        beams = self.model.config.beams if beams is None else beams
        if self.decoder == "ctc":
            return "CTC head, best path"
        name = "joint (decoder + CTC head)" if self.decoder == "joint" else "decoder"
        width = f"{beams} beams" if beams > 1 else "1 beam" if self.decoder == "joint" else "greedy"
        lm = f", language model x {self.lm_weight_at(beams):g}" if self.lm_weight_at(beams) else ""
        seen = f", {self.views} views ({', '.join(label for label, _ in VIEWS[:self.views])})" if self.views > 1 else ""
        return f"{name}, {width}{lm}{seen}"

    def to_result(self, hyp) -> LineResult:
        text = self.tokenizer.decode(hyp.ids)
        probs = [math.exp(lp) for lp in hyp.token_logprobs]
        chars = [p for p, n in zip(probs, self.tokenizer.token_spans(hyp.ids)) for _ in range(n)]
        line = math.exp(sum(hyp.token_logprobs) / len(hyp.token_logprobs)) if hyp.token_logprobs else 0.0
        return LineResult(text, line, chars[: len(text)])


def attention_map(recognizer: Recognizer, image: Image.Image, text: str):
    """Where the decoder looked while writing each token of `text`: (tokens + 1, rows, cols) cross-attention over
    the encoder's grid of this line (the last row: while writing [EOS]), and the preprocessed line (1, H, W)."""
    from .decoder import cross_attention_weights
    from .tokenizer import BOS

    model, tensor = recognizer.model, recognizer.prepare(image)
    images, widths = tensor[None].to(recognizer.device), torch.tensor([tensor.shape[-1]], device=recognizer.device)
    ids = [BOS] + recognizer.tokenizer.encode(text)
    with torch.inference_mode():
        memory, mask = model.encode(images, widths)
        weights = cross_attention_weights(model.decoder, torch.tensor([ids], device=recognizer.device), memory, mask)
    rows, cols = model.encoder.grid(tensor.shape[-1])
    grid = weights[0, :, model.encoder.prefix_tokens:]  # row t: attention while predicting token t + 1
    return grid.reshape(len(ids), rows, cols).float().cpu(), tensor
