"""Tesseract as a baseline (`--compare tesseract`): the Debian `tesseract-ocr` binary, one line image at a time."""
import io
import shutil
import subprocess


def tesseract_available() -> bool:
    return shutil.which("tesseract") is not None


def tesseract_line(image, language: str = "eng", psm: int = 7) -> str:
    """Text of one line image as Tesseract reads it (page segmentation mode 7: a single text line)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    result = subprocess.run(["tesseract", "stdin", "stdout", "-l", language, "--psm", str(psm)],
                            input=buffer.getvalue(), capture_output=True, check=False)
    return " ".join(result.stdout.decode("utf-8", "replace").split())
