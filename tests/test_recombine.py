"""Recombined lines: words cut where a CTC head reads the spaces, set side by side in other stretches of the text."""
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ocr import save_model
from ocr.errors import VitocrError
from ocr.tokenizer import PAD
from training.config import TrainConfig
from training.readers import LineSample
from training import recombine
from training.recombine import RecombinedLines, align_words, forced_path, word_cuts
from training.setup import prepare_data, real_lines
from training.trainer import train

from conftest import tiny_model
from fixtures import WORDS, gt_folder, render


def best_path_by_brute_force(logp, ids):
    """The best score of all frame labellings that collapse to `ids` (CTC: merge repeats, drop blanks)."""
    labels = [PAD, *sorted(set(ids))]
    best = -np.inf
    for path in itertools.product(labels, repeat=logp.shape[0]):
        collapsed = [t for i, t in enumerate(path) if t != PAD and (i == 0 or t != path[i - 1])]
        if collapsed == list(ids):
            best = max(best, sum(logp[t, v] for t, v in enumerate(path)))
    return best


@pytest.mark.parametrize("ids", [[1, 2, 1], [3, 3], [2], [1, 2, 2, 1]])
def test_the_forced_path_is_the_best_labelling_that_reads_the_text(ids):
    rng = np.random.default_rng(len(ids))
    logp = np.log(rng.dirichlet(np.ones(4), size=6))
    path = forced_path(logp, ids)
    assert [k for i, k in enumerate(path) if k >= 0 and (i == 0 or k != path[i - 1])] == list(range(len(ids)))
    tokens = [ids[k] if k >= 0 else PAD for k in path]
    assert [t for i, t in enumerate(tokens) if t != PAD and (i == 0 or t != tokens[i - 1])] == list(ids)
    assert sum(logp[t, v] for t, v in enumerate(tokens)) == pytest.approx(best_path_by_brute_force(logp, ids))


def test_too_few_frames_for_the_text_is_an_error():
    logp = np.log(np.full((2, 3), 1 / 3))
    with pytest.raises(ValueError):
        forced_path(logp, [1, 1])  # a doubled letter needs a blank between: 3 frames


def test_words_are_cut_midway_between_the_frames_of_their_letters():
    # "ab c": a on frames 1-2, b on 4, the space on 6, c on 9-10; 4 pixels a frame, 60 pixels wide
    path = [-1, 0, 0, -1, 1, -1, 2, -1, -1, 3, 3, -1]
    cuts = word_cuts(path, [5, 6, 0, 7], space=0, pixels_per_frame=4, width=60)
    assert cuts == [[0, 28, [0, 1]], [28, 60, [3]]]  # b ends at 20, c starts at 36


def striped_line(widths, height=20):
    """A white line with a dark mark per word, each word's columns a gray of its own, so a piece tells its origin."""
    pixels = np.full((height, sum(widths)), 255, dtype=np.uint8)
    x = 0
    for i, w in enumerate(widths):
        pixels[2:4, x + 1:x + w - 1] = 10 + 20 * i  # two rows of ink: the paper (90th percentile) stays 255
        x += w
    return Image.fromarray(pixels)


def test_a_recombined_line_is_a_stretch_of_the_text_drawn_with_its_words_images(tmp_path):
    striped_line([10, 15, 15]).save(tmp_path / "l.png")
    aligned = [{"image": str(tmp_path / "l.png"), "crop": None, "polygon": None, "text": "a bb c", "group": "p",
                "height": 20, "words": [[0, 10, "a"], [10, 25, "bb"], [25, 40, "c"]]}]
    lines = RecombinedLines(aligned, count=20, seed=3, height=40)
    full = striped_line([10, 15, 15]).resize((80, 40), Image.Resampling.BILINEAR)
    seen = set()
    for i in range(len(lines)):
        image, text = lines[i]
        assert text == lines.text(i) and image.width == lines.width_hint(i, 40)
        assert text in ("a bb c", "bb c", "c")  # one line of text: stretches run to its end
        start = {"a bb c": 0, "bb c": 20, "c": 50}[text]
        np.testing.assert_array_equal(np.asarray(image), np.asarray(full)[:, start:], err_msg=text)
        seen.add(text)
    assert len(seen) > 1
    assert np.array_equal(np.asarray(lines[5][0]), np.asarray(lines[5][0]))


def test_every_occurrence_of_a_word_can_draw_it(tmp_path):
    aligned = []
    for n in range(2):
        striped_line([10, 10]).save(tmp_path / f"{n}.png")
        aligned.append({"image": str(tmp_path / f"{n}.png"), "crop": None, "polygon": None, "text": f"x{n} y",
                        "group": "p", "height": 20, "words": [[0, 10, f"x{n}"], [10, 20, "y"]]})
    lines = RecombinedLines(aligned, count=200, seed=0)
    drawn = {lines._plan(i)[-1] for i in range(len(lines)) if lines.text(i).endswith("y")}
    assert drawn == {(0, 1), (1, 1)}  # "y" of either line


def test_bigram_lines_are_new_sentences_whose_every_word_pair_the_writer_wrote(tmp_path):
    aligned = []
    for n, text in enumerate(["a x b", "c x d"]):
        striped_line([10, 10, 10]).save(tmp_path / f"{n}.png")
        words = [[10 * i, 10 * i + 10, w] for i, w in enumerate(text.split())]
        aligned.append({"image": str(tmp_path / f"{n}.png"), "crop": None, "polygon": None, "text": text,
                        "group": "p", "height": 20, "words": words})
    written = "a x b c x d"
    pairs = {("a", "x"), ("x", "b"), ("b", "c"), ("c", "x"), ("x", "d")}  # the text runs on from line to line
    stretches = RecombinedLines(aligned, count=200, seed=0)
    assert all(stretches.text(i) in written for i in range(200))
    walks = RecombinedLines(aligned, count=200, seed=0, order="bigrams")
    texts = {walks.text(i) for i in range(200)}
    for text in texts:
        words = text.split()
        assert len(words) <= 3 and set(zip(words, words[1:])) <= pairs, text
    assert walks[0][1] == walks.text(0)
    assert {"a x d", "c x b"} <= texts  # sentences the text does not hold
    with pytest.raises(ValueError, match="unknown order 'bigram'.*text, bigrams"):
        RecombinedLines(aligned, count=1, order="bigram")


def test_align_words_cuts_every_word_of_each_line_in_order(tokenizer, monkeypatch):
    model = tiny_model(tokenizer, "hybrid_tiny", height=32).eval()
    model.add_ctc_head(2)
    images = {text: render(text, 32) for text in WORDS[:4]}
    monkeypatch.setattr(recombine, "load_line", lambda sample: images[sample.text])
    aligned = align_words(model, tokenizer, [LineSample("", text) for text in WORDS[:4]], batch_size=3)
    assert [a["text"] for a in aligned] == WORDS[:4]
    for a in aligned:
        assert [w for _, _, w in a["words"]] == a["text"].split()
        edges = [x for x0, x1, _ in a["words"] for x in (x0, x1)]
        assert edges[0] == 0 and edges[-1] == images[a["text"]].width and edges == sorted(edges)


def test_a_run_with_recombined_lines_cuts_the_words_once_and_trains(tmp_path, tokenizer):
    start = tiny_model(tokenizer, "hybrid_tiny", height=32)
    start.add_ctc_head(2)
    save_model(tmp_path / "start_model", start, tokenizer)
    common = dict(train=[str(gt_folder(tmp_path / "d", WORDS))], init_from=str(tmp_path / "start_model"),
                  recombined=8, val_fraction=0, ctc_weight=0.3, batch_size=4, workers=0, warmup=1, val_every=1000,
                  output=str(tmp_path / "run"))
    train(TrainConfig(steps=2, **common))
    cuts = tmp_path / "run" / "words.json"
    words = json.loads(cuts.read_text())
    assert len(words["lines"]) == len(WORDS) and all(w["words"] for w in words["lines"])
    cuts.write_text(json.dumps({**words, "lines": words["lines"][:3]}))  # resuming reads the cuts back
    train(TrainConfig(steps=3, resume=True, **common))
    assert len(json.loads(cuts.read_text())["lines"]) == 3
    train(TrainConfig(steps=1, **{**common, "train": [str(gt_folder(tmp_path / "e", WORDS[:5]))]}))
    assert len(json.loads(cuts.read_text())["lines"]) == 5  # other lines in the same folder: cut again


def test_words_are_cut_from_training_lines_only_never_from_held_out_pages(tmp_path, tokenizer):
    start = tiny_model(tokenizer, "hybrid_tiny", height=32)
    start.add_ctc_head(2)
    save_model(tmp_path / "start_model", start, tokenizer)
    cfg = TrainConfig(train=[str(gt_folder(tmp_path / "d", WORDS))], init_from=str(tmp_path / "start_model"),
                      recombined=8, val_fraction=0.3, ctc_weight=0.3, workers=0, output=str(tmp_path / "run"))
    data = prepare_data(cfg)
    held_out = {s.image for s in real_lines(cfg)[1]}
    cut = {w["image"] for w in json.loads((tmp_path / "run" / "words.json").read_text())["lines"]}
    assert held_out and cut and not cut & held_out
    assert all(word in " ".join(WORDS).split() for i in range(8) for word in data.train[-1].text(i).split())


def test_recombined_lines_need_a_model_with_a_ctc_head(tmp_path, tokenizer):
    save_model(tmp_path / "m", tiny_model(tokenizer), tokenizer)
    cfg = TrainConfig(train=[str(gt_folder(tmp_path / "d", WORDS))], recombined=4, val_fraction=0, workers=0,
                      output=str(tmp_path / "run"))
    with pytest.raises(VitocrError, match="--init-from"):
        train(cfg)
    cfg.init_from = str(tmp_path / "m")
    with pytest.raises(VitocrError, match="CTC head"):
        train(cfg)


def test_two_processes_train_on_recombined_lines_cut_by_a_model_whose_ctc_head_they_leave_alone(tmp_path, tokenizer):
    start = tiny_model(tokenizer, "hybrid_tiny", height=32)
    start.add_ctc_head(2)
    save_model(tmp_path / "start_model", start, tokenizer)
    torchrun = Path(sys.executable).with_name("torchrun")
    run = subprocess.run([str(torchrun), "--nproc_per_node", "2", "-m", "ocr.cli", "train", "--train",
                          str(gt_folder(tmp_path / "d", WORDS)), "--init-from", str(tmp_path / "start_model"),
                          "--recombined", "8", "--val-fraction", "0", "--steps", "2", "--batch-size", "4",
                          "--workers", "0", "--device", "cpu", "--output", str(tmp_path / "run")],
                         capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"), timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "2 process(es)" in run.stdout
    assert len(json.loads((tmp_path / "run" / "words.json").read_text())["lines"]) == len(WORDS)
