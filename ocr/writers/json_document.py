"""JSON: the full Document (boxes, polygons, baselines, confidences), read back with `Document.from_dict`."""
import json

from ..document import Document


def to_json(doc: Document) -> str:
    # ensure_ascii=False keeps non-Latin text readable; the file is written as UTF-8
    return json.dumps(doc.to_dict(), ensure_ascii=False, indent=2) + "\n"
