"""Every input kind becomes pages; a bad file is one clear sentence naming it."""
import numpy as np
import pytest
from PIL import Image

from ocr import VitocrError
from ocr.pages import expand_inputs, iter_pages

from fixtures import page_image


def test_png_jpeg_and_multipage_tiff(tmp_path):
    page, _ = page_image(["one line", "two lines"])
    page.save(tmp_path / "a.png")
    page.convert("RGB").save(tmp_path / "b.jpg", quality=95)
    page.save(tmp_path / "c.tif", save_all=True, append_images=[page.rotate(180)])
    assert [p.source for p in iter_pages(tmp_path / "a.png")] == [str(tmp_path / "a.png")]
    tiff = list(iter_pages(tmp_path / "c.tif"))
    assert [p.source for p in tiff] == [f"{tmp_path / 'c.tif'}#1", f"{tmp_path / 'c.tif'}#2"]
    assert np.array_equal(np.asarray(tiff[0].image), np.asarray(page))
    assert np.array_equal(np.asarray(tiff[1].image), np.asarray(page.rotate(180)))
    jpeg = next(iter_pages(tmp_path / "b.jpg")).image
    assert jpeg.mode == "L" and jpeg.size == page.size


def test_pdf_pages_are_rendered_at_the_asked_resolution(tmp_path):
    page, _ = page_image(["pdf line"])
    page.save(tmp_path / "doc.pdf", save_all=True, append_images=[page], resolution=100)
    pages = list(iter_pages(tmp_path / "doc.pdf", dpi=200))
    assert [p.source for p in pages] == [f"{tmp_path / 'doc.pdf'}#1", f"{tmp_path / 'doc.pdf'}#2"]
    assert abs(pages[0].image.width - 2 * page.width) <= 2 and pages[0].dpi == pytest.approx(200)
    rendered = np.asarray(pages[0].image.resize(page.size))
    assert np.abs(rendered.astype(int) - np.asarray(page).astype(int)).mean() < 10


def test_folders_and_globs_expand_in_order(tmp_path):
    for name in ("b.png", "a.png", "c.pdf", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in expand_inputs([tmp_path])] == ["a.png", "b.png", "c.pdf"]
    assert [p.name for p in expand_inputs([str(tmp_path / "*.png")])] == ["a.png", "b.png"]
    with pytest.raises(VitocrError, match=r"nothing\*.png: no file matches"):
        expand_inputs([str(tmp_path / "nothing*.png")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(VitocrError, match=r"empty: no images or PDFs in this folder \(\.bmp"):
        expand_inputs([tmp_path / "empty"])


@pytest.mark.parametrize("name, content, message", [
    ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "cannot open this PDF"),
    ("broken.png", b"\x89PNG\r\n\x1a\n garbage", "not a readable image"),
    ("broken.tif", b"II*\x00garbage", "not a readable TIFF"),
])
def test_broken_files_name_the_file_and_the_fix(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(VitocrError, match=message) as error:
        list(iter_pages(tmp_path / name))
    assert str(tmp_path / name) in str(error.value)


def test_huge_images_are_refused_before_decoding(tmp_path, monkeypatch):
    import ocr.images

    Image.new("L", (300, 300), 255).save(tmp_path / "big.png")
    monkeypatch.setattr(ocr.images, "MAX_PIXELS", 50_000)
    with pytest.raises(VitocrError, match="over the 50,000 pixel limit"):
        list(iter_pages(tmp_path / "big.png"))
