"""The Streamlit app end to end with AppTest, on a tiny random model: read, correct, download, save, bad files."""
import importlib.util
import io
from pathlib import Path

import pytest
import torch
from PIL import Image

from ocr import DecoderConfig, ModelConfig, OCRModel, save_model

from conftest import ALPHABET
from fixtures import page_image

st = pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "ui" / "app.py"
TIMEOUT = 120  # seconds for one run: segmenting and reading a page on a busy CPU


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory):
    """A tiny random model; short outputs keep reading a page quick."""
    from ocr import TextTokenizer

    tokenizer = TextTokenizer.char_level([ALPHABET])
    torch.manual_seed(0)
    decoder = DecoderConfig(vocab_size=tokenizer.vocab_size, dim=64, depth=2, heads=4, max_length=12, dropout=0.0)
    model = OCRModel(ModelConfig(encoder={"name": "vit_tiny", "max_width": 256}, decoder=decoder))
    folder = tmp_path_factory.mktemp("ui") / "model"
    save_model(folder, model.eval(), tokenizer)
    return folder


@pytest.fixture
def app(model_folder, monkeypatch):
    monkeypatch.setenv("VITOCR_UI_MODEL", str(model_folder))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    at.sidebar.select_slider(key="beams").set_value(1)  # greedy: the test is about the app, not the search
    return at.run()


@pytest.fixture
def downloads(monkeypatch):
    """file name -> the data the app handed to st.download_button (a callable for the deferred ones)."""
    seen = {}
    original = st.download_button

    def record(label, data, file_name=None, **kwargs):
        seen[file_name] = data
        return original(label, data, file_name=file_name, **kwargs)

    monkeypatch.setattr(st, "download_button", record)
    return seen


def open_sample(at):
    at.button(key="open_sample").click()
    return at.run()


def line_boxes(at):
    return [w for w in at.text_input if (w.key or "").startswith("text-")]


def test_the_app_starts_and_offers_the_sample(app):
    assert not app.exception
    assert app.title[0].value == "vitocr"
    assert app.button(key="open_sample").label == "Open the sample page"
    assert len(app.file_uploader) == 1
    assert not line_boxes(app)  # nothing is read before a page is chosen


def test_a_missing_model_is_named_and_nothing_breaks(monkeypatch):
    monkeypatch.setenv("VITOCR_UI_MODEL", "/no/such/model")
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert any("no such model folder" in e.value for e in at.error)
    open_sample(at)
    assert not line_boxes(at) and not at.exception


def test_a_model_with_a_language_model_offers_to_read_without_it(model_folder, tmp_path, monkeypatch):
    from ocr.cli import main

    monkeypatch.setenv("VITOCR_UI_MODEL", str(model_folder))
    assert not [c for c in AppTest.from_file(str(APP), default_timeout=TIMEOUT).run().sidebar.checkbox
                if c.key == "language_model"]  # a model without lm.json: nothing to offer
    (tmp_path / "text.txt").write_text("the quick brown fox\n", encoding="utf-8")
    assert main(["lm", str(model_folder), str(tmp_path / "text.txt"), "-o", str(tmp_path / "lm-model")]) == 0
    monkeypatch.setenv("VITOCR_UI_MODEL", str(tmp_path / "lm-model"))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    at.sidebar.select_slider(key="beams").set_value(2)
    open_sample(at)
    assert at.sidebar.checkbox(key="language_model").value is True
    read_with = at.session_state["transcription"].reading
    at.sidebar.checkbox(key="language_model").uncheck()
    at.run()
    assert not at.exception
    assert at.session_state["transcription"].reading == read_with[:3] + (False,) + read_with[4:]  # read again


def test_reading_in_two_views_reads_the_page_again(app):
    open_sample(app)
    first = app.session_state["transcription"]
    assert first.reading[-1] is None  # the model's own views
    app.sidebar.select_slider(key="views").set_value(2)
    app.run()
    assert not app.exception
    again = app.session_state["transcription"]
    assert again.reading == first.reading[:-1] + (2,)
    assert len(again.pages[0].page.lines) == len(first.pages[0].page.lines)  # the same lines, read otherwise


def test_opening_the_sample_shows_one_text_box_per_line(app):
    open_sample(app)
    assert not app.exception
    lines = app.session_state["transcription"].pages[0].page.lines
    boxes = line_boxes(app)
    assert len(lines) > 3 and len(boxes) == len(lines)
    assert [b.value for b in boxes] == [line.text for line in lines]
    assert all(line.text.strip() for line in lines)
    assert len(app.image) == 3  # the page, the selected line and its attention map


def test_a_corrected_line_is_in_the_text_download(app, downloads):
    open_sample(app)
    original = downloads["sample-page.txt"].decode()
    first = line_boxes(app)[0]
    assert original.splitlines()[0] == first.value
    first.input("Corrected first line").run()
    corrected = downloads["sample-page.txt"].decode()
    assert corrected.splitlines()[0] == "Corrected first line"
    assert corrected.splitlines()[1:] == original.splitlines()[1:]
    assert b"Corrected first line" in downloads["sample-page.page.xml"]()  # the deferred formats too
    assert downloads["sample-page.pdf"]().startswith(b"%PDF")


def test_saving_corrected_lines_writes_image_and_text_pairs(app, tmp_path):
    open_sample(app)
    line_boxes(app)[1].input("the second line").run()
    app.text_input(key="training_folder").input(str(tmp_path / "corrections")).run()
    app.button(key="save_lines").click().run()
    assert not app.exception and app.success
    pngs = sorted((tmp_path / "corrections").glob("*.png"))
    assert [p.name for p in pngs] == ["sample-page-p1-" + app.session_state["transcription"].pages[0].page.lines[1].id
                                      + ".png"]
    assert pngs[0].with_suffix("").with_suffix(".gt.txt").read_text() == "the second line\n"
    assert Image.open(pngs[0]).height > 5


def test_an_unreadable_upload_is_named_and_the_others_are_read(app):
    page, _ = page_image(["one line of text", "and another"])
    good = io.BytesIO()
    page.save(good, format="PNG")
    app.file_uploader[0].set_value([("broken.png", b"this is not an image", "image/png"),
                                    ("good.png", good.getvalue(), "image/png")]).run()
    assert not app.exception
    assert len(app.error) == 1 and "broken.png" in app.error[0].value
    assert "/tmp" not in app.error[0].value  # the file as the user named it, not where the app kept it
    assert [p.page.source for p in app.session_state["transcription"].pages] == ["good.png"]


def has_browser() -> bool:
    return Path("/usr/bin/chromium").exists() and importlib.util.find_spec("playwright") is not None


@pytest.mark.browser
@pytest.mark.skipif(not has_browser(), reason="needs Debian's chromium and the playwright package")
def test_the_sample_is_read_in_a_real_browser(model_folder, tmp_path):
    spec = importlib.util.spec_from_file_location("ui_screenshot", ROOT / "benchmarks" / "ui_screenshot.py")
    screenshot = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(screenshot)
    assert screenshot.main(["--model", str(model_folder), "--out", str(tmp_path / "ui.png")]) == 0
    assert Image.open(tmp_path / "ui.png").width > 800


def test_the_server_starts_without_asking_anything_on_a_first_run(model_folder, tmp_path):
    """A user's first `vitocr ui` (no ~/.streamlit yet, a browser wanted): the app starts; no question waits on stdin."""
    import socket
    import subprocess
    import threading

    from ui.launch import app_environment, streamlit_command

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**app_environment(str(model_folder)), "HOME": str(tmp_path), "BROWSER": "true", "DISPLAY": ""}
    server = subprocess.Popen(streamlit_command(port, headless=False), env=env, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output, started = [], threading.Event()

    def read():
        for line in server.stdout:
            output.append(line)
            if f":{port}" in line:
                started.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        started.wait(TIMEOUT)
    finally:
        server.terminate()
        server.wait(30)
    assert started.is_set(), "".join(output)
    assert "email" not in "".join(output).lower()
