"""Every training source reads to the same (image, text) lines; every problem is reported with its file."""
import numpy as np

from ocr.layout_xml import read_layout_xml
from training.dataset import load_line
from training.datacheck import check_data
from training.readers import read_source

from fixtures import WORDS, alto_xml, gt_folder, manifests, page_xml, render


def test_gt_folder_is_read_recursively(tmp_path):
    result = read_source(gt_folder(tmp_path / "gt"))
    assert sorted(s.text for s in result.samples) == sorted(WORDS) and not result.problems
    assert {s.group for s in result.samples} == {"page0", "page1", "page2"}


def test_manifests_of_every_kind_give_the_same_lines(tmp_path):
    paths = manifests(tmp_path)
    read = {kind: read_source(path) for kind, path in paths.items()}
    for kind, result in read.items():
        assert [s.text for s in result.samples] == WORDS, kind
        assert not result.problems
    assert [s.group for s in read["jsonl"].samples][:2] == ["p0", "p1"]
    first = load_line(read["tsv"].samples[0])
    assert np.array_equal(np.asarray(first), np.asarray(render(WORDS[0])))


def test_a_bad_manifest_row_is_reported_and_the_rows_after_it_still_read(tmp_path):
    path = manifests(tmp_path)["jsonl"]
    rows = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([rows[0], "{broken", "[1, 2]", '{"image": "gone.png", "text": "x"}', *rows[1:]]) + "\n",
                    encoding="utf-8")
    result = read_source(path)
    assert [s.text for s in result.samples] == WORDS
    assert result.problems == [
        f"{path}:2: not a JSON object (Expecting property name enclosed in double quotes); one object per line.",
        f"{path}:3: not a JSON object; one object per line.",
        f"{path}:4: image gone.png not found.",
    ]


def test_page_and_alto_lines_are_cut_from_the_page(tmp_path):
    texts = ["first line here", "second line", "third one"]
    for path in (page_xml(tmp_path, texts), alto_xml(tmp_path, texts)):
        result = read_source(path)
        assert [s.text for s in result.samples] == texts and not result.problems
        crop = load_line(result.samples[1])
        assert np.array_equal(np.asarray(crop), np.asarray(render(texts[1])))  # exactly the pasted line
    layout = read_layout_xml(tmp_path / "page.xml")
    assert layout.image == tmp_path / "page.png" and len(layout.lines) == 3 and layout.lines[0].polygon


def test_data_check_reports_every_bad_file(tmp_path):
    root = gt_folder(tmp_path / "gt", WORDS[:4])
    (root / "page0" / "line000.gt.txt").write_text("   \n")  # empty transcription
    (root / "page1" / "line001.gt.txt").write_bytes("caf\xe9".encode("latin-1"))  # not UTF-8
    (root / "page2" / "orphan.png").write_bytes(render("x").tobytes()[:10])  # no .gt.txt
    (root / "page2" / "broken.png").write_bytes(b"not a png")
    (root / "page2" / "broken.gt.txt").write_text("broken")
    (root / "page2" / "lonely.gt.txt").write_text("no image")
    report = check_data([root])
    text = "\n".join(report.problems)
    assert "line000.gt.txt: empty transcription" in text
    assert "line001.gt.txt: not UTF-8" in text
    assert "orphan.png: no transcription beside it" in text
    assert "broken.png: not a readable image" in text
    assert "lonely.gt.txt: no image beside it" in text
    assert report.lines == 3  # the good pairs plus the unreadable one, which is reported above
    assert len(report.problems) == 5


def test_data_check_names_characters_outside_a_model_charset(tmp_path):
    from ocr import TextTokenizer

    root = gt_folder(tmp_path / "gt", ["abc", "abz"])
    report = check_data([root], TextTokenizer.char_level(["abc"]))
    assert report.outside_charset == {"z": 1}
    assert any("line001.png: characters outside the model's charset: z" in p for p in report.problems)


def test_broken_xml_and_unknown_sources_are_one_sentence(tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_text("<PcGts><Page")
    assert "not well-formed XML" in read_source(bad).problems[0]
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><PcGts>&b;</PcGts>')
    assert "bomb.xml" in read_source(bomb).problems[0]  # entities are refused, not expanded
    assert "no such file" in read_source(tmp_path / "missing.jsonl").problems[0]
    (tmp_path / "notes.txt").write_text("x")
    assert "not a folder, manifest" in read_source(tmp_path / "notes.txt").problems[0]


def test_manifest_rows_can_be_selected_by_field(tmp_path):
    from training.readers import parse_where

    paths = manifests(tmp_path)
    where = parse_where(["page_id=p1"])
    assert where == {"page_id": "p1"} and parse_where(["has_greek=false"]) == {"has_greek": False}
    assert [s.text for s in read_source(paths["jsonl"], where).samples] == WORDS[1::2]


def test_train_lines_keeps_a_random_subset_of_the_training_split(tmp_path):
    from training.config import TrainConfig
    from training.setup import prepare_data

    folder = gt_folder(tmp_path / "gt")
    everything = prepare_data(TrainConfig(train=[str(folder)], val_fraction=0)).train[0]
    subset = prepare_data(TrainConfig(train=[str(folder)], val_fraction=0, train_lines=3)).train[0]
    assert len(subset) == 3 and len(everything) > 3
    assert {s.image for s in subset} <= {s.image for s in everything}


def test_group_pattern_splits_a_book_by_the_pages_in_its_file_names(tmp_path):
    import json
    import re

    import pytest

    from ocr.errors import VitocrError
    from training.config import TrainConfig
    from training.setup import real_lines

    (tmp_path / "lines").mkdir()
    rows = []
    for page in range(10):
        for line in range(3):
            name = f"lines/book_{page:04d}_{line}.png"
            render(WORDS[line]).save(tmp_path / name)
            rows.append({"image": name, "text": WORDS[line], "book": "book"})
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    cfg = dict(train=[str(tmp_path / "m.jsonl")], val_fraction=0.2)
    train, val = real_lines(TrainConfig(**cfg))  # one group, the book: split by line
    assert len(val) == 6 and {s.image.rsplit("_", 2)[1] for s in train} & {s.image.rsplit("_", 2)[1] for s in val}
    train, val = real_lines(TrainConfig(**cfg, group_pattern=r"([^/]+)_\d+\.png$"))
    pages = lambda lines: {s.image.rsplit("_", 1)[0] for s in lines}  # noqa: E731
    assert len(val) == 6 and len(pages(val)) == 2 and not pages(train) & pages(val)
    for bad, says in (("(unclosed", "is not a regular expression"), (r"_\d+\.png$", "has no (group)")):
        with pytest.raises(VitocrError, match=re.escape(says)):
            real_lines(TrainConfig(**cfg, group_pattern=bad))
