"""Plain text: lines one per line, regions separated by a blank line, pages by a blank line and a form feed."""
from ..document import Document


def to_text(doc: Document) -> str:
    """`doc.text` (the same text the API returns) ending with a newline, as text files do."""
    text = doc.text
    return text + "\n" if text else ""
