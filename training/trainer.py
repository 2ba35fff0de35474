"""The trainer: one loop for CPU, one GPU or many (Hugging Face accelerate / torchrun), resumable at any step.

Run folder (`--output`):
  train_config.json   the run's settings; `--resume` reads them back
  state/              model + optimizer + RNG + data position, rewritten every `save_every` steps (atomic)
  best/ last/         model folders (config.json, model.safetensors, tokenizer.json) ready for `vitocr transcribe`
  start/              with --init-from: the model as training began (grown charset, rebuilt encoder included), the
                      exact first half of `vitocr average runs/X/start runs/X/best`
  log.csv, tb/        per-step loss and lr, per-validation CER/WER (TensorBoard when it is installed)
  curves.svg          the loss and validation CER against the step, redrawn at every validation
"""
import contextlib
import csv
import io
import json
import math
import random
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from ocr.atomic import write_atomic
from ocr.checkpoint import save_model
from ocr.metrics import ErrorCounts
from ocr.recognizer import Recognizer

from .config import TrainConfig, check_config
from .curves import write_curves
from .dataset import LineDataset, WidthBucketSampler, collate
from .losses import training_loss
from .setup import build_model, prepare_data, set_trainable
from .state import load_state, save_state


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warmup, then cosine decay to min_lr_ratio * lr."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    t = min(1.0, (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup))
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t)))


def parameter_groups(model, weight_decay: float):
    """No weight decay on biases, norms, embeddings and tokens: decaying them only hurts."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if p.ndim < 2 or "embed" in name or "prefix" in name else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def seed_everything(seed: int):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class Logger:
    """CSV always; TensorBoard when installed. The CSV holds the run's steps up to `step`, where it starts (0: a new
    run; a resumed one's saved step): rows a killed run wrote after its last saved state, or an older run in the same
    folder wrote, would come twice."""

    def __init__(self, folder: Path, enabled: bool, step: int = 0):
        self.enabled = enabled
        self.path = folder / "log.csv"
        self.tb = None
        if enabled:
            self._keep_until(step)
            try:
                from torch.utils.tensorboard import SummaryWriter
                self.tb = SummaryWriter(str(folder / "tb"))
            except ImportError:
                pass

    def _keep_until(self, step: int):
        if not self.path.exists():
            return
        with self.path.open(newline="") as f:
            rows = list(csv.reader(f))
        kept = [row for row in rows[1:] if row and int(row[0]) <= step]
        if not kept:
            self.path.unlink()
            return
        text = io.StringIO()
        csv.writer(text).writerows(rows[:1] + kept)
        write_atomic(self.path, text.getvalue())

    def log(self, step: int, **values):
        if not self.enabled:
            return
        new = not self.path.exists()
        with self.path.open("a", newline="") as f:
            writer = csv.writer(f)
            if new:
                writer.writerow(["step", "name", "value"])
            for name, value in values.items():
                writer.writerow([step, name, f"{value:.6g}"])
        if self.tb:
            for name, value in values.items():
                self.tb.add_scalar(name, value, step)

    def draw(self):
        if self.enabled and self.path.exists():
            write_curves(self.path.parent)


def validate(model, tokenizer, images, texts, batch_size=64, decoder="auto") -> tuple:
    """Greedy decoding of the validation lines: (ErrorCounts, predictions)."""
    model.eval()
    recognizer = Recognizer(model, tokenizer, device=str(next(model.parameters()).device), decoder=decoder,
                            lm_weight=0.0, views=1)
    predictions = [r.text for r in recognizer.recognize(images, beams=1, batch_size=batch_size)]
    counts = ErrorCounts()
    for ref, hyp in zip(texts, predictions):
        counts.add(ref, hyp)
    model.train()
    return counts, predictions


class EMA:
    """Exponential moving average of the weights; validation and saved models use it when enabled."""

    def __init__(self, model, decay: float, state=None):
        self.decay = decay
        self.shadow = state or {k: v.detach().clone() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self, model):
        for k, v in model.state_dict().items():
            if v.dtype.is_floating_point:
                self.shadow[k].lerp_(v, 1 - self.decay)
            else:
                self.shadow[k].copy_(v)

    @contextlib.contextmanager
    def swapped_into(self, model):
        """Inside the block the model holds the EMA weights, its own weights again after."""
        saved = {k: v.detach().clone() for k, v in model.state_dict().items()}
        model.load_state_dict(self.shadow)
        try:
            yield
        finally:
            model.load_state_dict(saved)


def load_teacher(cfg, model, tokenizer, device):
    """The teacher of a DeiT student: same charset, frozen, in eval mode."""
    from ocr.checkpoint import load_model
    from ocr.errors import VitocrError
    from ocr.pipeline import model_path

    if not hasattr(model.encoder, "distillation_mask"):
        raise VitocrError(f"--teacher needs a deit encoder (it learns through its distillation token), "
                          f"not {model.config.encoder['name']}.")
    teacher, teacher_tokenizer = load_model(model_path(cfg.teacher), device)
    if not teacher_tokenizer.same_tokens(tokenizer):
        raise VitocrError(f"{cfg.teacher}: the teacher's charset differs from the student's; start the student "
                          f"from the teacher's tokenizer (vitocr builds it so when --teacher is given from scratch).")
    for p in teacher.parameters():
        p.requires_grad = False
    return teacher


def cpu_precision_note(precision: str) -> str:
    """Mixed precision on a CPU: bf16 where the CPU has it natively (1.4x faster training, BENCHMARKS.md), so a note
    (returned) says so where it would help, and a warning where torch would emulate it; no fp16, which accelerate
    would silently run in full precision."""
    from ocr.errors import VitocrError
    from ocr.recognizer import cpu_has_native_bf16

    if precision == "fp16":
        raise VitocrError("--precision fp16 needs a GPU; on a CPU use --precision bf16 (fast where the CPU has native "
                          "bf16: AVX512-BF16 or AMX) or leave it out.")
    native = cpu_has_native_bf16()
    if precision == "bf16" and not native:
        return ("warning: this CPU has no native bf16 (AVX512-BF16 or AMX): torch emulates it, so --precision bf16 "
                "trains several times slower than without it.")
    if precision == "no" and native:
        return "note: this CPU has native bf16: --precision bf16 trains about 1.4x faster on it."
    return ""


def train(cfg: TrainConfig):
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState

    check_config(cfg)
    on_cpu = cfg.device == "cpu" or not torch.cuda.is_available()
    note = cpu_precision_note(cfg.precision) if on_cpu else ""  # before accelerate's process-wide state is set
    accelerator = Accelerator(gradient_accumulation_steps=cfg.grad_accum, mixed_precision=cfg.precision,
                              cpu=cfg.device == "cpu")
    main = accelerator.is_main_process
    if note and main:
        print(note)
    out = Path(cfg.output)
    resume = cfg.resume and (out / "state" / "state.json").exists()
    seed_everything(cfg.seed)
    with accelerator.main_process_first():  # it cuts --recombined words into words.json; the others read them
        data = prepare_data(cfg, log=print if main else None)
    model, tokenizer = build_model(cfg, data.texts, out / "state" if resume else None)
    model.channels_last()
    set_trainable(model, cfg.freeze)
    if cfg.ctc_weight >= 1:
        model.decoder.requires_grad_(False)  # never run: frozen, so optimiser and DDP leave it alone
    elif cfg.ctc_weight == 0 and model.ctc_head is not None:
        model.ctc_head.requires_grad_(False)  # an --init-from model's head, kept as it is: DDP waits for no gradient
    teacher = load_teacher(cfg, model, tokenizer, accelerator.device) if cfg.teacher else None
    if main:
        out.mkdir(parents=True, exist_ok=True)
        (out / "train_config.json").write_text(json.dumps(asdict(cfg), indent=2, ensure_ascii=False) + "\n")
        if cfg.init_from and not resume:  # new rows and blocks start random: only this copy knows them
            save_model(out / "start", model, tokenizer)
        n = sum(p.numel() for p in model.parameters())
        print(f"model: {model.config.encoder['name']} encoder, {n / 1e6:.2f}M parameters, {tokenizer.vocab_size} "
              f"tokens; {sum(map(len, data.train))} training lines, {len(data.val_texts)} validation lines; "
              f"{accelerator.num_processes} process(es) on {accelerator.device}")

    train_set = LineDataset(data.train, tokenizer, model.encoder, data.augment, cfg.max_length, cfg.seed)
    widths = [train_set.width_hint(i) for i in range(len(train_set))]
    sampler = WidthBucketSampler(widths, cfg.batch_size, cfg.seed, accelerator.process_index,
                                 accelerator.num_processes)
    optimizer = torch.optim.AdamW(parameter_groups(model, cfg.weight_decay), lr=cfg.lr, betas=(0.9, 0.98))
    progress = {"step": 0, "epoch": 0, "batch": 0, "best_cer": float("inf"), "stale": 0}
    ema_state = None
    if resume:
        progress, ema_state = load_state(out / "state", optimizer)
        if main:
            print(f"resumed from {out / 'state'} at step {progress['step']}")
    ema = EMA(model, cfg.ema, ema_state) if cfg.ema else None
    model, optimizer = accelerator.prepare(model, optimizer)
    raw = accelerator.unwrap_model(model)
    logger = Logger(out, main, progress["step"])

    if cfg.overfit_batch:  # one batch, over and over: the model must learn it exactly
        first = next(iter(sampler))
        sampler.batches = lambda epoch: [first]

    bar = tqdm(total=cfg.steps, initial=progress["step"], disable=not main, dynamic_ncols=True, unit="step")
    last_cer, tick, lines = float("nan"), time.time(), 0
    stop = False
    model.train()
    while progress["step"] < cfg.steps and not stop:
        sampler.set_position(progress["epoch"], progress["batch"])
        train_set.epoch = progress["epoch"]
        loader = torch.utils.data.DataLoader(  # its own generator: the global RNG stays as a resume restores it
            train_set, batch_sampler=sampler, collate_fn=collate, num_workers=cfg.workers,
            generator=torch.Generator().manual_seed(cfg.seed + progress["epoch"]))
        for images, line_widths, tokens in loader:
            images, line_widths, tokens = (t.to(accelerator.device) for t in (images, line_widths, tokens))
            with accelerator.accumulate(model):
                loss = training_loss(model, images, line_widths, tokens, cfg, teacher)
                accelerator.backward(loss)
                if accelerator.sync_gradients and cfg.clip:
                    accelerator.clip_grad_norm_(model.parameters(), cfg.clip)
                for group in optimizer.param_groups:
                    group["lr"] = lr_at(progress["step"], cfg)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
            progress["batch"] += 1
            lines += len(tokens) * accelerator.num_processes
            if not accelerator.sync_gradients:
                continue
            progress["step"] += 1
            step = progress["step"]
            if ema:
                ema.update(raw)
            if step % 10 == 0:
                speed = lines / (time.time() - tick)
                progress["seconds"] = progress.get("seconds", 0.0) + time.time() - tick  # training time, resumes too
                logger.log(step, loss=loss.item(), lr=lr_at(step, cfg), lines_per_s=speed,
                           train_s=progress["seconds"])
                bar.set_postfix(loss=f"{loss.item():.3f}", cer=f"{last_cer:.2%}", lines_s=f"{speed:.0f}")
                tick, lines = time.time(), 0
            bar.update(1)
            if step % cfg.val_every == 0 or step == cfg.steps:
                last_cer, stop = evaluate_and_keep_best(cfg, raw, tokenizer, data, ema, progress, logger, out, main)
                if stop:
                    accelerator.set_trigger()
                stop = accelerator.check_trigger()  # every process stops together
                tick, lines = time.time(), 0
            if main and (step % cfg.save_every == 0 or step == cfg.steps or stop):
                save_state(out / "state", raw, tokenizer, optimizer, progress, ema.shadow if ema else None)
            if step >= cfg.steps or stop:
                break
        else:
            progress["epoch"] += 1
            progress["batch"] = 0
    bar.close()
    if main:
        logger.draw()
        with (ema.swapped_into(raw) if ema else contextlib.nullcontext()):
            save_model(out / "last", raw, tokenizer)
        best = f"best validation CER {progress['best_cer']:.2%} in {out / 'best'}; " if data.val_texts else ""
        print(f"done: step {progress['step']}, {best}last model in {out / 'last'}")
        if cfg.init_from and (out / "start").is_dir():  # runs begun before start/ existed have none
            final = out / ("best" if data.val_texts else "last")
            print(f"to keep more of what {cfg.init_from} read well: vitocr average {out / 'start'} {final} "
                  f"-o {out}-wise --weight 0.5")
    accelerator.wait_for_everyone()
    accelerator.end_training()  # destroys the process group: a rank exiting with gloo threads alive aborts
    AcceleratorState._reset_state(reset_partial_state=True)  # else a next train() inherits this precision
    return progress


def evaluate_and_keep_best(cfg, model, tokenizer, data, ema, progress, logger, out, main) -> tuple:
    """Validate on the main process; keep the best model; count evaluations without improvement."""
    if not main or not data.val_texts:
        return float("nan"), False
    with (ema.swapped_into(model) if ema else contextlib.nullcontext()):
        counts, predictions = validate(model, tokenizer, data.val_images, data.val_texts)
        logger.log(progress["step"], val_cer=counts.cer, val_wer=counts.wer, val_line_acc=counts.line_accuracy)
        other = ""
        if model.ctc_head is not None and cfg.ctc_weight < 1:  # the other reader's CER too, to choose between them
            name = "ctc" if model.config.decoding == "attention" else "attention"
            other_cer = validate(model, tokenizer, data.val_images, data.val_texts, decoder=name)[0].cer
            logger.log(progress["step"], **{f"val_{name}_cer": other_cer})
            other = f" ({name}: {other_cer:.2%})"
        logger.draw()
        samples = "\n".join(f"    ref: {r}\n    hyp: {h}" for r, h in list(zip(data.val_texts, predictions))[:3])
        tqdm.write(f"step {progress['step']}: validation CER {counts.cer:.2%}{other}, WER {counts.wer:.2%}\n{samples}")
        if counts.cer < progress["best_cer"]:
            progress["best_cer"], progress["stale"] = counts.cer, 0
            save_model(out / "best", model, tokenizer)
        else:
            progress["stale"] += 1
        model.train()
    stop = bool(cfg.patience) and progress["stale"] >= cfg.patience
    if stop:
        tqdm.write(f"early stop: no better validation CER in {cfg.patience} evaluations")
    return counts.cer, stop
