"""Training settings: one dataclass, the CLI flags and the YAML recipe keys are its field names."""
import argparse
import json
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import List, Optional, get_args, get_type_hints


@dataclass
class TrainConfig:
    train: List[str] = field(default_factory=list, metadata={"help": "training data: folders, manifests, PAGE/ALTO"})
    val: List[str] = field(default_factory=list, metadata={"help": "validation data (default: split from --train)"})
    output: str = field(default="runs/model", metadata={"help": "run folder: state/, best/, last/, logs"})
    resume: bool = field(default=False, metadata={"help": "continue the run in --output from its last state"})
    init_from: Optional[str] = field(default=None, metadata={"help": "model folder whose weights start training"})
    # model (from scratch)
    encoder: str = field(default="vit_small", metadata={"help": "registered encoder name, e.g. vit_tiny, swin_small"})
    height: int = field(default=0, metadata={"help": "line height in pixels (0: the encoder's default)"})
    max_width: int = field(default=1024, metadata={"help": "widest line in pixels after scaling to the height"})
    encoder_options: Optional[dict] = field(default=None, metadata={
        "help": "encoder settings over its registered size's, as JSON, e.g. '{\"strides\": [[2,2],[2,2],[2,2],[4,1]]}'; "
                "with --init-from (and with --height there) the loaded encoder is rebuilt, its weights kept; a greater "
                "depth adds blocks that start as the identity"})
    decoder_dim: int = 256
    decoder_depth: int = 4
    decoder_heads: int = 4
    max_length: int = field(default=160, metadata={"help": "most tokens per line, [BOS] and [EOS] included"})
    tokenizer: str = field(default="char", metadata={"help": "char, or bpe:N for a BPE vocabulary of N tokens"})
    # data
    where: List[str] = field(default_factory=list, metadata={"help": "keep manifest rows with field=value, e.g. "
                                                                     "has_greek=false"})
    synthetic: int = field(default=0, metadata={"help": "synthetic lines added to the training data"})
    synthetic_styles: List[str] = field(default_factory=lambda: ["print", "typewriter"])
    synthetic_max_chars: int = field(default=80, metadata={"help": "longest synthetic line; short lines first make "
                                                                   "a from-scratch model find the text sooner"})
    synthetic_typographic: float = field(default=0.0, metadata={"help": "share of synthetic lines with curly "
                                                                        "quotes and real dashes, as typeset"})
    synthetic_commentary: float = field(default=0.0, metadata={
        "help": "share of synthetic print lines written as a classical edition's notes: line references, section "
                "signs, old-style figures"})
    synthetic_val: int = field(default=0, metadata={"help": "synthetic validation lines (a separate seed)"})
    recombined: int = field(default=0, metadata={
        "help": "lines added to the training data that are other stretches of the training text, each word's "
                "image cut from one of its real lines where the --init-from model's CTC head reads the spaces "
                "(one writer's small set: new sentences in the same hand)"})
    recombined_order: str = field(default="text", metadata={
        "help": "the words of --recombined lines: text (stretches of the training text) or bigrams (each word "
                "followed by a word that follows it somewhere in the text: new sentences)"})
    val_fraction: float = field(default=0.05, metadata={"help": "share of page groups held out when --val is empty"})
    group_pattern: Optional[str] = field(default=None, metadata={
        "help": "regular expression on each line's image path whose first group names its page, for manifests that "
                "record only a coarser group (AJMC: its book): '([^/]+)_\\d+\\.png$'; lines it does not match keep "
                "their manifest's group"})
    train_lines: int = field(default=0, metadata={"help": "keep this many training lines of --train, a random "
                                                          "subset (0: all); for data-size studies"})
    val_lines: int = field(default=1000, metadata={"help": "most validation lines decoded at each validation"})
    augment: str = field(default="none", metadata={"help": "none, print, print-degraded, "
                                                           "print-degraded-reframed (tighter and looser crops too), "
                                                           "print-lowres (and 100 dpi scans of small print), "
                                                           "handwriting or handwriting-strong (one writer's small set)"})
    augment_strength: float = field(default=1.0, metadata={"help": "size of every augmentation change (0: none, "
                                                                    "2: twice the profile's)"})
    workers: int = field(default=1, metadata={"help": "data loading processes"})
    # optimisation
    steps: int = 20000
    batch_size: int = 32
    grad_accum: int = 1
    lr: float = 5e-4
    min_lr_ratio: float = 0.02
    warmup: int = 500
    weight_decay: float = 0.05
    label_smoothing: float = 0.1
    token_noise: float = field(default=0.0, metadata={"help": "share of the decoder's input characters replaced "
                                                              "at random while training (targets kept): reading "
                                                              "the image over guessing from the text, e.g. 0.1"})
    decoding: str = field(default="attention", metadata={"help": "how the model reads: attention, or ctc or "
                                                                 "joint (both need --ctc-weight); best/ is chosen "
                                                                 "by its CER"})
    ctc_weight: float = field(default=0.0, metadata={"help": "weight of the CTC loss on the encoder: 0 off, "
                                                             "0.3-0.5 finds the text sooner from scratch, 1 trains "
                                                             "the CTC head alone (no decoder; faster)"})
    ctc_frames: Optional[int] = field(default=None, metadata={
        "help": "CTC frames per encoder column, 2 lets doubled letters through (default: the model's, or 1)"})
    drop_path: float = field(default=0.1, metadata={"help": "stochastic depth rate of the encoder's last block"})
    dropout: float = 0.1
    clip: float = field(default=1.0, metadata={"help": "gradient norm clipping (0: off)"})
    ema: float = field(default=0.0, metadata={"help": "EMA decay of the weights, e.g. 0.999 (0: off)"})
    freeze: str = field(default="none", metadata={"help": "none, encoder (linear probe) or blocks:K"})
    # DeiT distillation
    teacher: Optional[str] = field(default=None, metadata={"help": "model folder of a teacher (deit encoders only)"})
    distill: str = field(default="soft", metadata={"help": "soft (KL at --distill-temperature) or hard (argmax)"})
    distill_temperature: float = 2.0
    distill_alpha: float = field(default=0.5, metadata={"help": "weight of the teacher's loss"})
    # schedule
    val_every: int = 500
    save_every: int = 100
    patience: int = field(default=0, metadata={"help": "stop after this many validations without a better CER"})
    seed: int = 0
    device: str = field(default="auto", metadata={"help": "auto or cpu (GPUs come from accelerate/torchrun)"})
    precision: str = field(default="no", metadata={
        "help": "no, fp16 or bf16; on a CPU: no, or bf16 where the CPU has it natively (AVX512-BF16, AMX)"})
    overfit_batch: bool = field(default=False, metadata={"help": "train on one batch only: a sanity check"})


RECOMBINED_ORDERS = ("text", "bigrams")
# (low, high, high included): the range of every numeric setting; None leaves that side open
RANGES = {
    "steps": (1, None, True), "batch_size": (1, None, True), "grad_accum": (1, None, True),
    "val_every": (1, None, True), "save_every": (1, None, True), "val_lines": (1, None, True),
    "workers": (0, None, True), "synthetic": (0, None, True), "synthetic_val": (0, None, True),
    "recombined": (0, None, True), "synthetic_max_chars": (1, None, True), "train_lines": (0, None, True),
    "warmup": (0, None, True),
    "patience": (0, None, True), "height": (0, None, True), "max_width": (1, None, True), "max_length": (2, None, True),
    "decoder_dim": (1, None, True), "decoder_depth": (1, None, True), "decoder_heads": (1, None, True),
    "lr": (0, None, True), "min_lr_ratio": (0, 1, True), "weight_decay": (0, None, True),
    "label_smoothing": (0, 1, False), "token_noise": (0, 1, False), "val_fraction": (0, 1, False),
    "synthetic_typographic": (0, 1, True),
    "synthetic_commentary": (0, 1, True),
    "ctc_weight": (0, 1, True), "drop_path": (0, 1, False), "dropout": (0, 1, False), "clip": (0, None, True),
    "ema": (0, 1, False), "augment_strength": (0, None, True), "distill_alpha": (0, 1, True),
    "distill_temperature": (0, None, True),
}
CHOICES = {"precision": ("no", "fp16", "bf16"), "distill": ("soft", "hard"), "device": ("auto", "cpu"),
           "recombined_order": RECOMBINED_ORDERS}


def check_config(cfg: "TrainConfig"):
    """Every setting in its range, before any data is read: one sentence naming the flag, or nothing."""
    from ocr.errors import VitocrError

    from .augment import PROFILES

    for name, (low, high, high_included) in RANGES.items():
        value = getattr(cfg, name)
        if value is not None and not (low <= value and (high is None or value < high or high_included and value == high)):
            bound = (f"at least {low}" if high is None else f"from {low} to {high}" if high_included
                     else f"at least {low} and below {high}")
            raise VitocrError(f"--{name.replace('_', '-')} {value}: give a number {bound}.")
    for name, allowed in {"augment": ("none", *PROFILES), **CHOICES}.items():
        if getattr(cfg, name) not in allowed:
            raise VitocrError(f"--{name} {getattr(cfg, name)!r}: use {', '.join(allowed)}.")
    if cfg.tokenizer != "char" and not (cfg.tokenizer.startswith("bpe:") and cfg.tokenizer[4:].isdigit()
                                        and int(cfg.tokenizer[4:]) > 0):
        raise VitocrError(f"--tokenizer {cfg.tokenizer!r}: use char, or bpe:N with N the vocabulary size, e.g. bpe:500.")
    if cfg.decoder_dim % cfg.decoder_heads:
        raise VitocrError(f"--decoder-dim {cfg.decoder_dim} does not split into --decoder-heads {cfg.decoder_heads}; "
                          "give a width that is a multiple of the heads.")


def json_object(text: str) -> dict:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError(text)
    return value


json_object.__name__ = "JSON object"  # argparse's message: "invalid JSON object value: '...'"


def add_arguments(parser: argparse.ArgumentParser):
    parser.add_argument("--config", help="YAML recipe; its keys are these flags' names")
    hints = get_type_hints(TrainConfig)
    for f in fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        default = f.default if f.default is not MISSING else f.default_factory()
        help_text = f.metadata.get("help", "")
        if isinstance(default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        elif isinstance(default, list):
            parser.add_argument(flag, nargs="+", default=None, help=help_text)
        else:
            kind = type(default) if default is not None else get_args(hints[f.name])[0]  # Optional[X] -> X
            kind = json_object if kind is dict else kind
            parser.add_argument(flag, type=kind, default=None, help=f"{help_text} (default: {default})".strip())


def config_from_args(args) -> TrainConfig:
    """Defaults, then the YAML recipe, then the flags given on the command line."""
    values = {}
    if getattr(args, "config", None):
        values.update(load_recipe(args.config))
    values.update({f.name: getattr(args, f.name) for f in fields(TrainConfig) if getattr(args, f.name, None) is not None})
    return TrainConfig(**values)


def load_recipe(path) -> dict:
    import yaml

    from ocr.errors import VitocrError

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise VitocrError(f"{path}: cannot read the recipe ({e}).") from None
    try:
        recipe = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise VitocrError(f"{path}: not valid YAML ({where}{getattr(e, 'problem', None) or e}); fix the recipe.") from None
    if not isinstance(recipe, dict):
        raise VitocrError(f"{path}: a recipe is a YAML mapping of `vitocr train` settings (key: value), "
                          f"not a {type(recipe).__name__}.")
    names = {f.name for f in fields(TrainConfig)}
    recipe = {k.replace("-", "_"): v for k, v in recipe.items()}
    unknown = sorted(set(recipe) - names)
    if unknown:
        raise VitocrError(f"{path}: unknown setting {', '.join(unknown)}; the keys are the flags of `vitocr train`.")
    return recipe
