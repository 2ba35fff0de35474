"""`vitocr transcribe` and `ocr.transcribe`: pages in, every format out; a bad file is reported and skipped."""
import json

import pytest

import ocr
from ocr import save_model
from ocr.cli import main
from ocr.document import Document
from ocr.layout_xml import read_layout_xml

from conftest import tiny_model
from fixtures import page_image


@pytest.fixture
def model(tmp_path, tokenizer):
    save_model(tmp_path / "model", tiny_model(tokenizer), tokenizer)
    return tmp_path / "model"


@pytest.fixture
def pages(tmp_path):
    texts = ["the first line", "a second line", "and a third"]
    image, boxes = page_image(texts)
    image.save(tmp_path / "page.png")
    image.save(tmp_path / "doc.pdf", save_all=True, append_images=[image], resolution=150)
    return tmp_path, boxes


def test_python_api_returns_the_document(model, pages):
    folder, boxes = pages
    doc = ocr.transcribe(folder / "page.png", model=model, beams=2)
    assert isinstance(doc, Document) and len(doc.pages) == 1
    page = doc.pages[0]
    assert (page.width, page.height, page.source) == (600, 200, str(folder / "page.png"))
    for line in page.lines:  # an untrained model writes something; every line keeps its geometry and scores
        assert len(line.char_confidences) == len(line.text) and 0 < line.confidence <= 1
    assert len(page.lines) <= len(boxes)


def test_pdf_pages_and_every_format(model, pages):
    folder, _ = pages
    out = folder / "out"
    assert main(["transcribe", str(folder / "doc.pdf"), "--model", str(model), "-o", str(out), "--beams", "1",
                 "--format", "txt,json,hocr,alto,page,pdf"]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["doc.alto.p001.xml", "doc.alto.p002.xml", "doc.hocr", "doc.json", "doc.page.p001.xml",
                     "doc.page.p002.xml", "doc.pdf", "doc.txt"]
    doc = Document.from_dict(json.loads((out / "doc.json").read_text()))
    assert [p.source.rsplit("#", 1)[1] for p in doc.pages] == ["1", "2"]
    layout = read_layout_xml(out / "doc.page.p002.xml")
    assert [l.text for l in layout.lines] == [l.text for l in doc.pages[1].lines]


def test_lines_can_come_from_a_page_xml(model, tmp_path):
    from ocr.pages import iter_pages
    from ocr.pipeline import find_lines

    from fixtures import page_xml, render

    xml = page_xml(tmp_path, ["first", "second line", "third"], name="scan")
    page = next(iter_pages(tmp_path / "scan.png"))
    found, images = find_lines(page, lines_from=xml)
    assert [l.box for l in found.lines] == [l.box for l in read_layout_xml(xml).lines]
    assert images[1].tobytes() == render("second line").tobytes()  # exactly the line's pixels
    doc = ocr.transcribe(tmp_path / "scan.png", model=model, beams=1, lines_from=xml)
    assert {l.box for l in doc.pages[0].lines} <= {l.box for l in found.lines}


def test_a_bad_file_is_reported_and_the_others_are_written(model, pages, capsys):
    folder, _ = pages
    (folder / "broken.png").write_bytes(b"not an image")
    out = folder / "out"
    code = main(["transcribe", str(folder / "broken.png"), str(folder / "page.png"), "--model", str(model),
                 "-o", str(out), "--beams", "1"])
    err = capsys.readouterr().err
    assert code == 1 and "broken.png: not a readable image" in err and "1 of 2 file(s) could not be read" in err
    assert (out / "page.txt").exists()


def test_unknown_model_and_format_are_one_sentence(pages, capsys):
    folder, _ = pages
    assert main(["transcribe", str(folder / "page.png"), "--model", "nosuchmodel"]) == 2
    assert "no model named 'nosuchmodel'" in capsys.readouterr().err
    assert main(["transcribe", str(folder / "page.png"), "--format", "docx", "-o", str(folder)]) == 2
    assert "--format docx: choose from" in capsys.readouterr().err


@pytest.mark.parametrize("flag, value, message", [
    ("--beams", "0", "argument --beams: give a number at least 1, not 0"),
    ("--dpi", "5000", "argument --dpi: give a number from 36 to 1200, not 5000"),
    ("--batch-size", "two", "argument --batch-size: 'two' is not a whole number"),
])
def test_a_number_out_of_range_is_refused_before_any_work(pages, capsys, flag, value, message):
    folder, _ = pages
    with pytest.raises(SystemExit) as stop:
        main(["transcribe", str(folder / "page.png"), flag, value])
    assert stop.value.code == 2 and capsys.readouterr().err.endswith(f"vitocr transcribe: error: {message}\n")


def test_a_folder_without_pages_is_one_sentence(tmp_path, capsys):
    assert main(["transcribe", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith(f"vitocr: {tmp_path}: no images or PDFs in this folder (.bmp, ")


def test_an_empty_page_gives_no_lines_and_says_so(model, tmp_path, capsys):
    from PIL import Image

    Image.new("L", (400, 300), 240).save(tmp_path / "blank.png")
    doc = ocr.transcribe(tmp_path / "blank.png", model=model)
    assert doc.pages[0].lines == [] and doc.text == ""
    assert main(["transcribe", str(tmp_path / "blank.png"), "--model", str(model)]) == 0  # not an error: a blank page
    assert capsys.readouterr().err.endswith(f"vitocr: {tmp_path / 'blank.png'}: no text found.\n")


@pytest.fixture
def strict(model, tmp_path):
    """The same model, told by its config.json to drop every line it is not sure of."""
    net, tokenizer = ocr.load_model(model)
    net.config.min_confidence = 1.0
    save_model(tmp_path / "strict", net, tokenizer)
    return tmp_path / "strict"


def test_lines_read_below_the_minimum_confidence_are_dropped_as_noise(model, strict, pages, capsys):
    folder, _ = pages
    every = ocr.transcribe(folder / "page.png", model=model, beams=1, min_confidence=0).pages[0].lines
    assert every, "the untrained model reads something on each line"
    cut = sorted(l.confidence for l in every)[len(every) // 2]
    page = ocr.transcribe(folder / "page.png", model=model, beams=1, min_confidence=cut).pages[0]
    kept = page.lines
    assert [l.text for l in kept] == [l.text for l in every if l.confidence >= cut]
    assert 0 < len(kept) < len(every) and page.dropped_lines == len(every) - len(kept)
    assert ocr.Document.from_dict(ocr.Document([page]).to_dict()).pages[0].dropped_lines == page.dropped_lines

    # the command line says how many it dropped, and how to keep them
    assert main(["transcribe", str(folder / "page.png"), "--model", str(model), "--beams", "1",
                 "--min-confidence", str(cut)]) == 0
    assert capsys.readouterr().err.endswith(
        f"vitocr: {folder / 'page.png'}: {len(every) - len(kept)} found line(s) read too unsurely to be text were "
        "dropped as noise; --min-confidence 0 keeps them.\n")

    # the model's own setting applies unless told otherwise
    assert ocr.transcribe(folder / "page.png", model=strict, beams=1).pages[0].lines == []
    assert len(ocr.transcribe(folder / "page.png", model=strict, beams=1,
                              min_confidence=0).pages[0].lines) == len(every)

    with pytest.raises(SystemExit):
        main(["transcribe", str(folder / "page.png"), "--model", str(model), "--min-confidence", "5"])
    assert "argument --min-confidence: give a confidence from 0 to 1, not 5" in capsys.readouterr().err


def test_lines_from_a_page_xml_are_kept_whatever_their_confidence(model, strict, tmp_path):
    from fixtures import page_xml

    xml = page_xml(tmp_path, ["first", "second line", "third"], name="scan")
    kept = ocr.transcribe(tmp_path / "scan.png", model=strict, beams=1, lines_from=xml).pages[0].lines
    plain = ocr.transcribe(tmp_path / "scan.png", model=model, beams=1, lines_from=xml).pages[0].lines
    assert [l.text for l in kept] == [l.text for l in plain] and kept


def test_version_is_the_project_s(capsys):
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0 and capsys.readouterr().out == f"vitocr {project['version']}\n"


def test_output_piped_to_a_reader_that_stops_early_ends_quietly(model, pages):
    """`vitocr transcribe ... | head`: no traceback when the reader closes the pipe."""
    import subprocess
    import sys
    from pathlib import Path

    folder, _ = pages
    run = subprocess.Popen([sys.executable, "-m", "ocr.cli", "transcribe", str(folder / "page.png"), "--model",
                            str(model)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           cwd=Path(__file__).parents[1])
    run.stdout.close()  # the reader is gone before anything is written
    err = run.stderr.read()
    assert run.wait(120) == 1 and "Traceback" not in err, err


def test_a_blank_line_image_reads_as_no_text(model, pages, tmp_path, capsys):
    """A blank (or evenly grey, faintly grained) line image reads "" for sure, instead of whatever letter the decoder
    would guess; the other images of the batch read as they do alone."""
    import numpy as np
    from PIL import Image

    folder, boxes = pages
    Image.open(folder / "page.png").crop(boxes[0]).save(tmp_path / "text.png")
    Image.new("L", (300, 40), 255).save(tmp_path / "white.png")
    grain = np.random.default_rng(0).normal(200, 4, (40, 300)).clip(0, 255).astype(np.uint8)
    Image.fromarray(grain).save(tmp_path / "grey.png")
    assert main(["transcribe", str(tmp_path / "text.png"), "--layout", "line", "--model", str(model)]) == 0
    alone = capsys.readouterr().out
    files = [str(tmp_path / n) for n in ("white.png", "text.png", "grey.png")]
    assert main(["transcribe", *files, "--layout", "line", "--model", str(model)]) == 0
    white, text, grey = capsys.readouterr().out.splitlines()
    assert white == f"{files[0]}\t1.000\t" and grey == f"{files[2]}\t1.000\t" and text + "\n" == alone
