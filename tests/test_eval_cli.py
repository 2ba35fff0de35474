"""`vitocr eval` end to end: its numbers agree with the metric on its own predictions; reports and flags."""
import csv
import json
import shutil

import pytest

from ocr import save_model
from ocr.cli import main
from ocr.metrics import cer, wer

from conftest import tiny_model
from fixtures import WORDS, gt_folder


@pytest.fixture
def setup(tmp_path, tokenizer):
    save_model(tmp_path / "model", tiny_model(tokenizer), tokenizer)
    return tmp_path / "model", gt_folder(tmp_path / "gt")


def run_json(capsys, *args):
    code = main(["eval", *map(str, args), "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_summary_agrees_with_the_metric_on_the_report(setup, tmp_path, capsys):
    model, data = setup
    code, summary = run_json(capsys, data, "--model", model, "--report", tmp_path / "r.csv", "--threshold", "0.5")
    assert code == 0
    rows = list(csv.DictReader((tmp_path / "r.csv").open()))
    assert sorted(r["reference"] for r in rows) == sorted(WORDS)
    refs, preds = [r["reference"] for r in rows], [r["prediction"] for r in rows]
    s = summary["vitocr"]
    assert s["lines"] == len(WORDS)
    assert s["cer"] == pytest.approx(cer(refs, preds)) and s["wer"] == pytest.approx(wer(refs, preds))
    assert [float(r["cer"]) for r in rows] == sorted((float(r["cer"]) for r in rows), reverse=True)  # worst first
    assert s["flagged"] == sum(float(r["confidence"]) < 0.5 for r in rows)
    assert s["flagged"] == sum(r["flagged"] == "True" for r in rows)


def test_normalisation_options_change_what_counts(setup, tmp_path, capsys):
    model, data = setup
    (tmp_path / "map.tsv").write_text("# conventions\nK\tk\n", encoding="utf-8")
    _, plain = run_json(capsys, data, "--model", model, "--report", tmp_path / "a.jsonl")
    _, folded = run_json(capsys, data, "--model", model, "--ignore-case", "--ignore-punctuation",
                         "--mapping", tmp_path / "map.tsv", "--report", tmp_path / "b.jsonl")
    references = [json.loads(l)["reference"] for l in (tmp_path / "b.jsonl").open()]
    assert "kew gardens 1885" in references  # K mapped, punctuation gone, case folded
    assert plain["vitocr"]["lines"] == folded["vitocr"]["lines"]


def test_a_missing_mapping_is_one_sentence(setup, capsys):
    model, data = setup
    assert main(["eval", str(data), "--model", str(model), "--mapping", "typografic"]) == 2
    assert capsys.readouterr().err == ("vitocr: --mapping typografic: no such mapping file, nor a bundled mapping "
                                       "(typographic); give a UTF-8 file of 'source<TAB>target' lines.\n")


def test_bad_lines_are_reported_and_skipped(setup, tmp_path, capsys):
    model, data = setup
    (data / "page0" / "line000.png").write_bytes(b"broken")
    code = main(["eval", str(data), "--model", str(model)])
    captured = capsys.readouterr()
    assert code == 1 and "line000.png: not a readable image" in captured.err
    assert f"{len(WORDS) - 1} lines: CER" in captured.out


def test_paths_after_the_options_are_read_too_and_unknown_options_refused(setup, tmp_path, capsys):
    model, data = setup
    other = gt_folder(tmp_path / "other", WORDS[:2])
    code, summary = run_json(capsys, data / "page0", "--model", model, other)
    assert code == 0 and summary["vitocr"]["lines"] == len(WORDS) // 3 + 2
    with pytest.raises(SystemExit):
        main(["eval", str(data), "--model", str(model), "--no-such-flag", str(other)])
    assert "unrecognized arguments: --no-such-flag" in capsys.readouterr().err


def test_a_wrong_model_folder_is_one_sentence(tmp_path, capsys):
    assert main(["eval", str(tmp_path), "--model", str(tmp_path)]) == 2
    assert "is not a vitocr model folder" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="Debian's tesseract-ocr is not installed")
def test_compare_tesseract_prints_both(setup, capsys):
    model, data = setup
    code, summary = run_json(capsys, data, "--model", model, "--compare", "tesseract")
    assert code == 0 and 0 <= summary["tesseract"]["cer"] < 0.5  # clean rendered lines: Tesseract reads them


def test_held_out_evaluates_exactly_the_lines_training_validated_on(setup, tmp_path, capsys):
    from training.config import TrainConfig
    from training.setup import prepare_data

    model, data = setup  # three page groups of four lines
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"train: ['{data}']\nval_fraction: 0.3\nseed: 3\n", encoding="utf-8")
    code, summary = run_json(capsys, "--held-out", recipe, "--model", model, "--report", tmp_path / "r.jsonl")
    evaluated = [json.loads(row)["reference"] for row in (tmp_path / "r.jsonl").read_text().splitlines()]
    validated = prepare_data(TrainConfig(train=[str(data)], val_fraction=0.3, seed=3)).val_texts
    assert code == 0 and len(evaluated) == 4 and sorted(evaluated) == sorted(validated)


def test_data_and_held_out_together_is_one_sentence(setup, tmp_path, capsys):
    model, data = setup
    assert main(["eval", str(data), "--held-out", str(tmp_path / "r.yaml"), "--model", str(model)]) == 2
    assert capsys.readouterr().err == ("vitocr: give the data to evaluate or --held-out RECIPE (the lines a recipe's "
                                       "run held out), not both.\n")
    assert main(["eval", "--model", str(model)]) == 2
    assert "give the data to evaluate, or --held-out RECIPE" in capsys.readouterr().err
