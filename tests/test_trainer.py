"""The trainer: resumes a killed run exactly, grows a charset, freezes what it is told, runs on 2 processes."""
import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from ocr import load_model, save_model
from ocr.cli import main as cli_main
from ocr.errors import VitocrError
from ocr.tokenizer import TextTokenizer
from training.config import TrainConfig, add_arguments, config_from_args
from training.setup import build_model, prepare_data, set_trainable
from training.trainer import seed_everything, train

from conftest import tiny_model
from fixtures import WORDS, gt_folder

TINY = ["--encoder", "vit_tiny", "--height", "32", "--max-width", "256", "--decoder-dim", "64", "--decoder-depth",
        "1", "--decoder-heads", "2", "--batch-size", "4", "--warmup", "2", "--workers", "0", "--val-every", "1000"]


def vitocr(*args, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "ocr.cli", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, **kwargs)


def state_step(run: Path) -> int:
    try:
        return json.loads((run / "state" / "state.json").read_text())["progress"]["step"]
    except (OSError, ValueError):
        return -1


def test_a_killed_run_resumes_to_the_same_weights(tmp_path):
    data = gt_folder(tmp_path / "gt")
    common = ["train", "--train", data, "--val-fraction", "0", "--steps", "30", "--save-every", "2", *TINY]
    straight = vitocr(*common, "--output", tmp_path / "straight")
    assert straight.wait(timeout=300) == 0, straight.stdout.read()

    killed = vitocr(*common, "--output", tmp_path / "killed")
    while state_step(tmp_path / "killed") < 6:
        assert killed.poll() is None, "the run ended before it could be killed"
        time.sleep(0.02)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    saved = state_step(tmp_path / "killed")
    assert 6 <= saved < 30
    with (tmp_path / "killed" / "log.csv").open("a") as log:  # as if it had logged past its last saved state
        log.write(f"{saved + 1},loss,99\n")
    resumed = vitocr(*common, "--output", tmp_path / "killed", "--resume")
    out = resumed.communicate(timeout=300)[0]
    assert resumed.returncode == 0, out
    assert f"resumed from" in out and f"at step {saved}" in out
    a = load_file(tmp_path / "straight" / "state" / "model.safetensors")
    b = load_file(tmp_path / "killed" / "state" / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a), "resumed training diverged from the uninterrupted run"
    opt_a = load_file(tmp_path / "straight" / "state" / "optimizer.safetensors")
    opt_b = load_file(tmp_path / "killed" / "state" / "optimizer.safetensors")
    assert all(torch.equal(opt_a[k], opt_b[k]) for k in opt_a)
    assert not [p for p in (tmp_path / "killed").iterdir() if p.name.startswith(".")]  # no half-written folders
    losses = [logged(tmp_path / run, "loss", "lr") for run in ("straight", "killed")]
    assert losses[0] == losses[1] and [step for step, _, _ in losses[0]] == [10, 10, 20, 20, 30, 30]


def logged(run: Path, *names) -> list:
    with (run / "log.csv").open() as f:
        return [(int(step), name, value) for step, name, value in csv.reader(f) if name in names]


def test_a_new_run_in_an_old_run_folder_starts_a_new_log(tmp_path):
    data = gt_folder(tmp_path / "gt")
    common = ["train", "--train", data, "--val-fraction", "0", "--steps", "10", "--output", tmp_path / "run", *TINY]
    for _ in range(2):
        assert cli_main(list(map(str, common))) == 0
    assert [step for step, _, _ in logged(tmp_path / "run", "loss")] == [10]


def test_init_from_grows_the_charset_and_keeps_learned_rows(tmp_path):
    cfg = TrainConfig(train=[str(gt_folder(tmp_path / "a", WORDS[:6]))], val_fraction=0, steps=4, output=str(tmp_path / "a_run"),
                      encoder="vit_tiny", max_width=256, decoder_dim=64, decoder_depth=1, decoder_heads=2,
                      batch_size=4, workers=0, warmup=1, val_every=1000)
    train(cfg)
    base, base_tok = load_model(tmp_path / "a_run" / "last")
    new_texts = ["Zürich ½ price", "Ærø"]
    model, tok = build_model(TrainConfig(init_from=str(tmp_path / "a_run" / "last")), new_texts + WORDS)
    added = set("".join(new_texts + WORDS)) - base_tok.charset
    assert tok.vocab_size == base_tok.vocab_size + len(added)
    assert tok.encode("quick fox") == base_tok.encode("quick fox")
    old = base_tok.vocab_size
    assert torch.equal(model.decoder.token_embed.weight[:old], base.decoder.token_embed.weight)
    assert torch.equal(model.decoder.head.weight[:old], base.decoder.head.weight)
    assert torch.equal(model.decoder.head.bias[:old], base.decoder.head.bias)


def test_init_from_at_a_new_height_rebuilds_the_encoder_with_the_same_weights(tmp_path):
    tokenizer = TextTokenizer.char_level(WORDS)
    base = tiny_model(tokenizer, "hybrid_tiny", channels=[8, 8, 16, 16], dim=32, depth=1, heads=2)
    base.config.lm_weight = 0.3  # read with a language model the run's folders will not have
    save_model(tmp_path / "base", base, tokenizer)
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    flags = parser.parse_args(["--init-from", str(tmp_path / "base"), "--height", "64",
                               "--encoder-options", '{"strides": [[2, 2], [2, 2], [2, 2], [4, 1]]}'])
    model, _ = build_model(config_from_args(flags), WORDS)
    assert (model.height, model.encoder.max_width, model.encoder.patch) == (64, 512, (32, 8))  # same lines fit
    assert model.config.lm_weight == 0.0
    old, new = base.state_dict(), model.state_dict()
    assert all(torch.equal(old[k], new[k]) for k in old if k != "encoder.pos_embed")
    expected = F.interpolate(old["encoder.pos_embed"], size=(2, 64), mode="bicubic", align_corners=False)
    torch.testing.assert_close(new["encoder.pos_embed"], expected)
    features, mask = model.encode(torch.rand(1, 1, 64, 200), torch.tensor([200]))
    assert mask.sum() == 1 + 2 * 25  # [CLS] and 2 rows of 8 px columns
    with pytest.raises(VitocrError, match=r"change the shape of \d+ weights .*bridge.weight"):
        build_model(TrainConfig(init_from=str(tmp_path / "base"), encoder_options={"dim": 48}), WORDS)


def test_init_from_with_a_greater_depth_reads_as_before_until_trained(tmp_path):
    tokenizer = TextTokenizer.char_level(WORDS)
    base = tiny_model(tokenizer, "hybrid_tiny", channels=[8, 8, 16, 16], dim=32, depth=1, heads=2).eval()
    save_model(tmp_path / "base", base, tokenizer)
    model, _ = build_model(TrainConfig(init_from=str(tmp_path / "base"), encoder_options={"depth": 3}), WORDS)
    assert len(model.encoder.blocks) == 3 and model.config.encoder["depth"] == 3
    images, widths = torch.rand(2, 1, 32, 120), torch.tensor([120, 72])
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(model.encode(images, widths), base.encode(images, widths), rtol=0, atol=0)
    model.train()
    features, mask = model.encode(images, widths)
    features[mask].sum().backward()  # the added blocks learn: their zeroed output projections get gradients
    assert model.encoder.blocks[2].mlp.fc2.weight.grad.abs().sum() > 0
    assert model.encoder.blocks[2].attn.proj.weight.grad.abs().sum() > 0
    with pytest.raises(VitocrError, match=r"add or drop weights \(encoder.blocks.0.*only grow"):
        build_model(TrainConfig(init_from=str(tmp_path / "base"), encoder_options={"depth": 0}), WORDS)


def test_init_from_with_a_deeper_hybrid_stem_reads_as_before_until_trained(tmp_path):
    tokenizer = TextTokenizer.char_level(WORDS)
    base = tiny_model(tokenizer, "hybrid_tiny", channels=[8, 8, 16, 16], dim=32, depth=1, heads=2).eval()
    save_model(tmp_path / "base", base, tokenizer)
    model, _ = build_model(TrainConfig(init_from=str(tmp_path / "base"), encoder_options={"stem_depth": 3}), WORDS)
    assert [len(stage) for stage in model.encoder.patch_embed.refine] == [2, 2, 2, 2]
    assert model.config.encoder["stem_depth"] == 3
    images, widths = torch.rand(2, 1, 32, 120), torch.tensor([120, 72])
    model.eval()
    with torch.no_grad():
        (features, mask), (expected, expected_mask) = model.encode(images, widths), base.encode(images, widths)
    assert torch.equal(mask, expected_mask) and torch.equal(features[mask], expected[mask])
    model.train()
    features, mask = model.encode(images, widths)
    features[mask].sum().backward()  # the added blocks learn: their zeroed last BatchNorm gets gradients
    assert model.encoder.patch_embed.refine[3][1].bn2.weight.grad.abs().sum() > 0
    save_model(tmp_path / "deeper", model, tokenizer)
    with pytest.raises(VitocrError, match=r"add or drop weights \(encoder.patch_embed.refine.*only grow"):
        build_model(TrainConfig(init_from=str(tmp_path / "deeper"), encoder_options={"stem_depth": 2}), WORDS)


def test_a_run_from_another_model_keeps_its_exact_start_for_averaging(tmp_path, capsys):
    small = dict(val_fraction=0, encoder="vit_tiny", max_width=256, decoder_dim=64, decoder_depth=1, decoder_heads=2,
                 batch_size=4, workers=0, warmup=1, val_every=1000)
    train(TrainConfig(train=[str(gt_folder(tmp_path / "a", WORDS[:6]))], steps=2, output=str(tmp_path / "a_run"), **small))
    assert not (tmp_path / "a_run" / "start").exists()  # from scratch: nothing to average back to
    run = tmp_path / "b_run"
    cfg = TrainConfig(train=[str(gt_folder(tmp_path / "b", ["Zürich ½ price", *WORDS[:4]]))], steps=3,
                      output=str(run), init_from=str(tmp_path / "a_run" / "last"), encoder_options={"depth": 5}, **small)
    capsys.readouterr()
    train(cfg)
    hint = capsys.readouterr().out.splitlines()[-1]
    start, start_tokenizer = load_model(run / "start")
    seed_everything(cfg.seed)  # what the run began with: new charset rows and a new block, drawn at random
    expected = build_model(cfg, prepare_data(cfg).texts)[0].state_dict()
    assert start.state_dict().keys() == expected.keys()
    assert all(torch.equal(v, expected[k]) for k, v in start.state_dict().items())
    assert len(start.encoder.blocks) == 5 and "ü" in start_tokenizer.charset
    command = hint.split(": ", 1)[1].split()  # the run says how to average it with its start: that command works
    assert command == ["vitocr", "average", str(run / "start"), str(run / "last"), "-o", f"{run}-wise", "--weight", "0.5"]
    assert cli_main(command[1:]) == 0
    last, wise = (load_model(folder)[0].state_dict() for folder in (run / "last", f"{run}-wise"))
    name = "encoder.blocks.4.mlp.fc1.weight"
    torch.testing.assert_close(wise[name], (start.state_dict()[name] + last[name]) / 2)


def test_an_encoder_setting_it_does_not_have_is_one_clear_error():
    with pytest.raises(VitocrError, match="--encoder hybrid_tiny: .*no setting stride; its settings: .*strides"):
        build_model(TrainConfig(encoder="hybrid_tiny", encoder_options={"stride": [2, 1]}), WORDS)


@pytest.mark.parametrize("text, message", [
    ("steps: [1\n", "not valid YAML (line 2, column 1: expected ',' or ']', but got '<stream end>'); fix the recipe."),
    ("- steps\n", "a recipe is a YAML mapping of `vitocr train` settings (key: value), not a list."),
    ("stepz: 3\n", "unknown setting stepz; the keys are the flags of `vitocr train`."),
])
def test_a_bad_recipe_is_one_sentence_naming_it(tmp_path, text, message):
    from training.config import load_recipe

    (tmp_path / "r.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(VitocrError) as err:
        load_recipe(tmp_path / "r.yaml")
    assert str(err.value) == f"{tmp_path / 'r.yaml'}: {message}"


@pytest.mark.parametrize("flags, message", [
    (["--batch-size", "0"], "--batch-size 0: give a number at least 1."),
    (["--val-fraction", "1"], "--val-fraction 1.0: give a number at least 0 and below 1."),
    (["--ctc-weight", "1.5"], "--ctc-weight 1.5: give a number from 0 to 1."),
    (["--augment", "scan"], "--augment 'scan': use none, print, print-degraded, print-degraded-reframed, print-lowres, "
                            "handwriting, handwriting-strong."),
    (["--augment-strength", "-1"], "--augment-strength -1.0: give a number at least 0."),
    (["--tokenizer", "bpe"], "--tokenizer 'bpe': use char, or bpe:N with N the vocabulary size, e.g. bpe:500."),
    (["--decoder-heads", "3"], "--decoder-dim 256 does not split into --decoder-heads 3; give a width that is a "
                               "multiple of the heads."),
])
def test_a_setting_out_of_range_is_refused_before_any_data_is_read(tmp_path, flags, message):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    cfg = config_from_args(parser.parse_args(["--train", str(tmp_path / "none"), "--output", str(tmp_path / "r"), *flags]))
    with pytest.raises(VitocrError) as err:
        train(cfg)
    assert str(err.value) == message and not (tmp_path / "r").exists()


def test_every_bundled_recipe_is_a_valid_configuration():
    from training.config import check_config, load_recipe

    recipes = sorted((Path(__file__).parents[1] / "training" / "recipes").glob("*.yaml"))
    assert recipes
    for recipe in recipes:
        check_config(TrainConfig(**load_recipe(recipe)))


@pytest.mark.parametrize("encoder", ["vit_tiny", "swin_tiny"])
def test_freezing_strategies(encoder):
    model, _ = build_model(TrainConfig(encoder=encoder, max_width=256, decoder_dim=64, decoder_depth=1,
                                       decoder_heads=2), WORDS)
    set_trainable(model, "encoder")  # linear probe: only the decoder learns
    assert not any(p.requires_grad for p in model.encoder.parameters())
    assert all(p.requires_grad for p in model.decoder.parameters())
    set_trainable(model, "blocks:1")
    frozen = {n for n, p in model.encoder.named_parameters() if not p.requires_grad}
    assert any(n.startswith("patch_embed") for n in frozen)
    first = "blocks.0." if encoder == "vit_tiny" else "stages.0.0."
    second = "blocks.1." if encoder == "vit_tiny" else "stages.0.1."
    assert any(n.startswith(first) for n in frozen) and not any(n.startswith(second) for n in frozen)
    set_trainable(model, "none")
    assert all(p.requires_grad for p in model.parameters())


def overfit_config(tmp_path, **overrides) -> TrainConfig:
    """300 steps on one batch of four lines, validated on the same lines: a working trainer reads them exactly."""
    data = gt_folder(tmp_path / "gt", WORDS[:4])
    settings = dict(train=[str(data)], val=[str(data)], steps=300, val_every=300, output=str(tmp_path / "run"),
                    encoder="vit_tiny", max_width=256, decoder_dim=64, decoder_depth=1, decoder_heads=2,
                    batch_size=4, workers=0, warmup=10, lr=2e-3, dropout=0.0, drop_path=0.0,
                    label_smoothing=0.0, overfit_batch=True)
    return TrainConfig(**{**settings, **overrides})


def test_overfit_batch_learns_one_batch_exactly(tmp_path, capsys):
    progress = train(overfit_config(tmp_path))
    assert progress["best_cer"] == 0.0, capsys.readouterr().out[-2000:]
    curves = (tmp_path / "run" / "curves.svg").read_text()  # drawn at the validation: 30 losses, one CER
    assert curves.count("<polyline") == 2 and curves.count("<circle") == 1 and "validation CER" in curves


def tiny_config(tmp_path, **overrides) -> TrainConfig:
    data = gt_folder(tmp_path / "gt", WORDS[:8])
    settings = dict(train=[str(data)], val=[str(data)], output=str(tmp_path / "run"), encoder="vit_tiny",
                    max_width=256, decoder_dim=64, decoder_depth=1, decoder_heads=2, batch_size=2, workers=0,
                    warmup=1, save_every=1000)
    return TrainConfig(**{**settings, **overrides})


def test_early_stopping_ends_the_run_after_patience_evaluations_without_a_better_cer(tmp_path, capsys):
    progress = train(tiny_config(tmp_path, steps=50, val_every=1, lr=0.0, patience=2))  # lr 0: never better
    assert progress["step"] == 3 and progress["stale"] == 2
    assert "early stop: no better validation CER in 2 evaluations" in capsys.readouterr().out
    assert (tmp_path / "run" / "best" / "model.safetensors").exists()


def test_gradient_accumulation_takes_one_optimiser_step_per_k_batches(tmp_path):
    progress = train(tiny_config(tmp_path, steps=3, val_every=1000, grad_accum=2))
    assert progress["step"] == 3 and progress["epoch"] * 4 + progress["batch"] == 6  # 8 lines: 4 batches an epoch


def test_ema_averages_the_weights_and_the_saved_model_is_the_average(tmp_path):
    from training.trainer import EMA

    model = torch.nn.Linear(2, 2)
    ema = EMA(model, decay=0.75)
    start = model.weight.detach().clone()
    with torch.no_grad():
        model.weight.add_(4.0)
    ema.update(model)
    torch.testing.assert_close(ema.shadow["weight"], start + 1.0)  # 0.75 * w0 + 0.25 * (w0 + 4)
    with ema.swapped_into(model):
        torch.testing.assert_close(model.weight, start + 1.0)
    torch.testing.assert_close(model.weight, start + 4.0)  # the model's own weights come back

    train(tiny_config(tmp_path, steps=4, val_every=1000, ema=0.9))
    last = load_file(tmp_path / "run" / "last" / "model.safetensors")
    shadow = load_file(tmp_path / "run" / "state" / "ema.safetensors")
    trained = load_file(tmp_path / "run" / "state" / "model.safetensors")
    assert all(torch.equal(last[k], shadow[k]) for k in last)
    assert not all(torch.equal(last[k], trained[k]) for k in last)


def test_two_cpu_processes_train_one_model(tmp_path):
    data = gt_folder(tmp_path / "gt")
    torchrun = Path(sys.executable).with_name("torchrun")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    run = subprocess.run([str(torchrun), "--nproc_per_node", "2", "-m", "ocr.cli", "train", "--train", str(data),
                          "--val-fraction", "0", "--steps", "4", "--device", "cpu", "--output", str(tmp_path / "run"),
                          "--token-noise", "0.1",  # reaches the model through its DDP wrapper
                          *TINY], capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "2 process(es)" in run.stdout
    model, tokenizer = load_model(tmp_path / "run" / "last")
    assert state_step(tmp_path / "run") == 4


def test_train_can_run_twice_in_one_process_with_another_precision(tmp_path):
    # accelerate keeps its state in a process-wide singleton; a notebook's second run must not inherit the first's
    for precision in ["no", "bf16"]:
        progress = train(tiny_config(tmp_path / precision, steps=2, val_every=1000, precision=precision, device="cpu"))
        assert progress["step"] == 2


def test_fp16_on_a_cpu_is_refused_and_names_what_to_use(tmp_path):
    with pytest.raises(VitocrError, match="--precision fp16 needs a GPU; on a CPU use --precision bf16"):
        train(tiny_config(tmp_path, steps=2, precision="fp16", device="cpu"))
    assert train(tiny_config(tmp_path / "after", steps=1, val_every=1000, device="cpu"))["step"] == 1  # state clean


def test_a_cpu_run_says_when_bf16_would_be_slow_and_when_it_would_be_faster(tmp_path, capsys, monkeypatch):
    import ocr.recognizer

    for native in (True, False):
        monkeypatch.setattr(ocr.recognizer, "cpu_has_native_bf16", lambda: native)
        for precision in ("bf16", "no"):
            train(tiny_config(tmp_path / f"{native}-{precision}", steps=1, val_every=1000, precision=precision,
                              device="cpu"))
            out = capsys.readouterr().out
            assert ("this CPU has no native bf16" in out) == (not native and precision == "bf16")
            assert ("--precision bf16 trains about 1.4x faster" in out) == (native and precision == "no")


def test_a_bf16_cpu_run_learns_one_batch_exactly(tmp_path, capsys):
    progress = train(overfit_config(tmp_path, precision="bf16", device="cpu"))
    assert progress["best_cer"] == 0.0, capsys.readouterr().out[-2000:]


def test_ctc_weight_one_trains_the_ctc_head_alone_and_leaves_the_decoder_untouched(tmp_path, capsys):
    cfg = tiny_config(tmp_path, steps=300, val_every=300, batch_size=8, lr=2e-3, warmup=10, dropout=0.0,
                      drop_path=0.0, overfit_batch=True, ctc_weight=1.0, ctc_frames=2, decoding="ctc",
                      encoder="hybrid_tiny", height=32)
    progress = train(cfg)
    assert progress["best_cer"] == 0.0, capsys.readouterr().out[-2000:]
    trained = load_file(str(tmp_path / "run" / "best" / "model.safetensors"))
    seed_everything(cfg.seed)  # as train() does before it builds the model
    fresh, _ = build_model(cfg, WORDS[:8])
    for name, value in fresh.state_dict().items():
        if name.startswith("decoder."):
            assert torch.equal(trained[name], value), name
    assert not torch.equal(trained["ctc_head.weight"], fresh.state_dict()["ctc_head.weight"])


def test_ctc_weight_one_needs_ctc_decoding(tmp_path):
    with pytest.raises(VitocrError, match="--ctc-weight 1 trains the CTC head alone"):
        train(tiny_config(tmp_path, steps=1, ctc_weight=1.0))
