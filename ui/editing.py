"""The document as the user corrected it: the model's reading with the edited lines' text put in."""
import copy
from typing import Dict, List, Tuple

from ocr.document import Document

Edits = Dict[Tuple[int, str], str]  # (page index, line id) -> the text the user typed


def edited_document(pages: List, edits: Edits, model: str = "") -> Document:
    """`pages`: PageResults. An edited line counts as checked by a person: confidence 1 for it and its characters,
    so outputs that carry confidences (ALTO, PAGE, hOCR, JSON) do not flag text that was already corrected. A line
    edited to nothing is dropped: clearing it is how a user removes a false detection."""
    doc = Document([copy.deepcopy(p.page) for p in pages], model)
    for index, page in enumerate(doc.pages):
        for line in page.lines:
            text = edits.get((index, line.id))
            if text is not None and text != line.text:
                line.text, line.confidence, line.char_confidences = text, 1.0, [1.0] * len(text)
        for region in page.regions:
            region.lines = [line for line in region.lines if line.text.strip()]
        page.regions = [region for region in page.regions if region.lines]
    return doc


def edited_lines(pages: List, edits: Edits) -> List[Tuple[int, str]]:
    """(page index, line id) of the lines whose text the user changed."""
    return [(i, line.id) for i, p in enumerate(pages) for line in p.page.lines
            if edits.get((i, line.id), line.text) != line.text]
