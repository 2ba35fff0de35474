"""From settings to the things the loop needs: data sources, validation lines, tokenizer and model."""
import math
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Optional

from ocr.checkpoint import load_model
from ocr.decoder import DecoderConfig
from ocr.errors import VitocrError
from ocr.model import ModelConfig, OCRModel
from ocr.pipeline import model_path
from ocr.tokenizer import TextTokenizer

from .config import TrainConfig, load_recipe
from .dataset import load_line
from .readers import parse_where, read_sources


@dataclass
class TrainingData:
    train: List = field(default_factory=list)  # sources for LineDataset: LineSample lists, synthetic sets
    val_images: List = field(default_factory=list)  # PIL images, loaded once
    val_texts: List[str] = field(default_factory=list)
    texts: List[str] = field(default_factory=list)  # every training text, for the charset
    augment: Optional[Callable] = None


def split_by_group(samples, fraction: float, seed: int):
    """Hold out whole page groups, never single lines of a page seen in training."""
    groups = sorted({s.group for s in samples})
    if len(groups) < 2:
        rng = random.Random(seed)
        shuffled = samples[:]
        rng.shuffle(shuffled)
        cut = max(1, int(len(samples) * fraction))
        return shuffled[cut:], shuffled[:cut]
    random.Random(seed).shuffle(groups)
    held = set(groups[: max(1, math.ceil(len(groups) * fraction))])
    return [s for s in samples if s.group not in held], [s for s in samples if s.group in held]


def regroup(samples, pattern: str):
    """Page groups read off the image paths, where a manifest names only the book: a page never straddles the split."""
    try:
        rx = re.compile(pattern)
    except re.error as e:
        raise VitocrError(f"--group-pattern {pattern!r} is not a regular expression ({e}); fix it.") from None
    if rx.groups < 1:
        raise VitocrError(f"--group-pattern {pattern!r} has no (group) to name the page; put one around it.")
    for s in samples:
        m = rx.search(s.image.replace("\\", "/"))
        if m and m.group(1):
            s.group = m.group(1)
    return samples


def read_or_fail(paths, what: str, log, where=None):
    result = read_sources(paths, where)
    if result.problems and log:
        log(f"{what}: {len(result.problems)} problem(s) skipped (see `vitocr data check`), e.g.:")
        for p in result.problems[:5]:
            log(f"  {p}")
    if paths and not result.samples:
        raise VitocrError(f"no usable {what} lines in {', '.join(map(str, paths))}; run `vitocr data check` on them.")
    return result.samples


def real_lines(cfg: TrainConfig, log=None):
    """(training, validation) LineSamples: --val, or whole page groups split off --train."""
    where = parse_where(cfg.where)
    train = read_or_fail(cfg.train, "training", log, where) if cfg.train else []
    val = read_or_fail(cfg.val, "validation", log, where) if cfg.val else []
    if train and not cfg.val and cfg.val_fraction > 0:
        if cfg.group_pattern:
            train = regroup(train, cfg.group_pattern)
        train, val = split_by_group(train, cfg.val_fraction, cfg.seed)
    return train, val


def held_out_lines(recipe_path) -> list:
    """The real lines a recipe's run validated on and never trained on, split exactly as `vitocr train` splits."""
    cfg = TrainConfig(**load_recipe(recipe_path))
    val = real_lines(cfg)[1]
    if not val:
        raise VitocrError(f"{recipe_path}: the recipe holds out no real lines (no --val, no --train to split).")
    return val


def prepare_data(cfg: TrainConfig, log=None) -> TrainingData:
    data = TrainingData()
    train, val = real_lines(cfg, log)
    if cfg.train_lines and cfg.train_lines < len(train):
        train = random.Random(cfg.seed).sample(train, cfg.train_lines)
    data.train.append(train)
    data.texts = [s.text for s in train]
    val_items = [(load_line(s), s.text) for s in random.Random(cfg.seed).sample(val, min(len(val), cfg.val_lines))]
    if cfg.synthetic or cfg.synthetic_val:
        from .synthetic import SyntheticLines

        if cfg.synthetic:
            synthetic = SyntheticLines(cfg.synthetic, tuple(cfg.synthetic_styles), seed=cfg.seed,
                                       max_chars=cfg.synthetic_max_chars, typographic=cfg.synthetic_typographic,
                                       commentary=cfg.synthetic_commentary)
            data.train.append(synthetic)
            data.texts += [synthetic.text(i) for i in range(len(synthetic))]
        if cfg.synthetic_val:
            held = SyntheticLines(cfg.synthetic_val, tuple(cfg.synthetic_styles), seed=cfg.seed + 1_000_003,
                                  max_chars=cfg.synthetic_max_chars, typographic=cfg.synthetic_typographic,
                                  commentary=cfg.synthetic_commentary)
            val_items += [held[i] for i in range(len(held))]
    if cfg.recombined:
        data.train.append(recombined_lines(cfg, train, log))  # words of `train`: no new characters
    if not data.texts:
        raise VitocrError("no training data: give --train PATH... and/or --synthetic N.")
    data.val_images = [image for image, _ in val_items]
    data.val_texts = [text for _, text in val_items]
    if cfg.augment != "none":
        from .augment import LineAugment

        data.augment = LineAugment(cfg.augment, cfg.augment_strength)
    return data


def recombined_lines(cfg: TrainConfig, train, log=None):
    """--recombined lines from the words of the real training lines, cut by the --init-from model (once a run)."""
    from .recombine import RecombinedLines, load_or_align

    if not cfg.init_from or not train:
        raise VitocrError("--recombined N cuts the words of real training lines with a model's CTC head: "
                          "give --train data and --init-from a model trained with --ctc-weight.")
    aligned = load_or_align(Path(cfg.output) / "words.json", model_path(cfg.init_from), train, log)
    return RecombinedLines(aligned, cfg.recombined, seed=cfg.seed, order=cfg.recombined_order)


def encoder_changes(cfg: TrainConfig, encoder: dict) -> dict:
    """--height and --encoder-options over an --init-from model's encoder settings. A new height scales max_width
    with it, so the same lines still fit."""
    changes = dict(cfg.encoder_options or {})
    if cfg.height and cfg.height != encoder["height"]:
        changes["height"] = cfg.height
        changes.setdefault("max_width", encoder["max_width"] * cfg.height // encoder["height"])
    return changes


def build_model(cfg: TrainConfig, texts: List[str], state_folder=None):
    """(model in train mode, tokenizer): resumed, initialised from a model (charset grown), or new."""
    if state_folder is not None:
        model, tokenizer = load_model(state_folder)
    elif cfg.init_from:
        model, tokenizer = load_model(model_path(cfg.init_from))
        changes = encoder_changes(cfg, model.config.encoder)
        if changes:
            try:
                model = model.with_encoder(**changes)
            except ValueError as e:
                raise VitocrError(f"--init-from {cfg.init_from}: {e}.") from None
        new = sorted(set("".join(texts)) - tokenizer.charset)
        if new:
            tokenizer = tokenizer.extend(new)
            model.resize_vocab(tokenizer.vocab_size)
    else:
        if cfg.teacher:  # the student must write with the teacher's tokens to learn from its distributions
            tokenizer = load_model(model_path(cfg.teacher))[1]
        elif cfg.tokenizer.startswith("bpe:"):
            tokenizer = TextTokenizer.bpe(texts, int(cfg.tokenizer.split(":")[1]))
        else:
            tokenizer = TextTokenizer.char_level(texts)
        encoder = {"name": cfg.encoder, "max_width": cfg.max_width, "drop_path": cfg.drop_path}
        if cfg.height:
            encoder["height"] = cfg.height
        encoder.update(cfg.encoder_options or {})
        decoder = DecoderConfig(vocab_size=tokenizer.vocab_size, dim=cfg.decoder_dim, depth=cfg.decoder_depth,
                                heads=cfg.decoder_heads, max_length=cfg.max_length, dropout=cfg.dropout)
        try:
            model = OCRModel(ModelConfig(encoder=encoder, decoder=decoder, ctc=cfg.ctc_weight > 0,
                                         ctc_frames=cfg.ctc_frames or 1))
        except ValueError as e:  # an unknown encoder or setting, a height the patch does not divide
            raise VitocrError(f"--encoder {cfg.encoder}: {e}.") from None
    if cfg.ctc_weight > 0 and (model.ctc_head is None or cfg.ctc_frames not in (None, model.config.ctc_frames)):
        model.add_ctc_head(cfg.ctc_frames or 1)  # a model trained without one, or a head of another frame rate
    if cfg.decoding not in ("attention", "ctc", "joint") or (cfg.decoding != "attention" and model.ctc_head is None):
        raise VitocrError(f"--decoding {cfg.decoding!r}: use attention, or ctc or joint with --ctc-weight > 0.")
    if cfg.ctc_weight >= 1 and (cfg.decoding != "ctc" or cfg.teacher):
        raise VitocrError("--ctc-weight 1 trains the CTC head alone: read with --decoding ctc, and without --teacher.")
    model.config.decoding = cfg.decoding
    model.config.lm_weight = 0.0  # a run writes no lm.json: a language model is added to its result by `vitocr lm`
    return model.train(), tokenizer


def encoder_blocks(encoder) -> list:
    """The encoder's blocks from input to output (Swin: every stage's, merges included)."""
    if hasattr(encoder, "stages"):
        blocks = []
        for i, stage in enumerate(encoder.stages):
            blocks += list(stage)
            if i < len(encoder.merges):
                blocks.append(encoder.merges[i])
        return blocks
    return list(encoder.blocks)


def set_trainable(model: OCRModel, freeze: str):
    """Fine-tuning strategies: none (full), encoder (linear probe: only the decoder learns), blocks:K (partial: the
    embedding and first K encoder blocks are frozen)."""
    for p in model.parameters():
        p.requires_grad = True
    if freeze == "none":
        return
    if freeze == "encoder":
        frozen = [model.encoder]
    elif freeze.startswith("blocks:"):
        k = int(freeze.split(":")[1])
        blocks = encoder_blocks(model.encoder)
        frozen = blocks[:k] + [m for name, m in model.encoder.named_children()
                               if name in ("patch_embed", "patch_norm")]
        for name, p in model.encoder.named_parameters(recurse=False):
            p.requires_grad = False  # [CLS], E_pos: part of the embedding
    else:
        raise VitocrError(f"--freeze {freeze!r}: use none, encoder or blocks:K.")
    for module in frozen:
        for p in module.parameters():
            p.requires_grad = False
