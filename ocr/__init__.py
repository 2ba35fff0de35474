"""vitocr: TrOCR-style OCR with vision encoders written from scratch.

    import ocr
    doc = ocr.transcribe("scan.pdf")             # pages -> regions -> lines with text and confidences
    reader = ocr.Recognizer.load("path/to/model")
    lines = reader.recognize([PIL.Image.open("line.png")], beams=4)

Names are imported on first use, so `vitocr --help` and `import ocr.metrics` do not wait for torch.
"""
import importlib

_EXPORTS = {
    "DecoderConfig": "decoder", "LineResult": "recognizer", "ModelConfig": "model", "OCRModel": "model",
    "Recognizer": "recognizer", "TextTokenizer": "tokenizer", "VitocrError": "errors", "load_model": "checkpoint",
    "save_model": "checkpoint", "transcribe": "pipeline", "Document": "document",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'ocr' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)


def __dir__():
    return __all__
