"""A line's text as Streamlit markdown, the words the model was unsure of on a red background."""
import string

from ocr.document import Line

MARKDOWN_SPECIALS = set(string.punctuation)  # CommonMark lets a backslash escape any ASCII punctuation


def escape_markdown(text: str) -> str:
    return "".join("\\" + c if c in MARKDOWN_SPECIALS else c for c in text)


def highlighted_words(line: Line, threshold: float) -> str:
    """Words whose least confident character is below `threshold` in `:red-background[...]`."""
    parts = []
    for word, _, confidence in line.words():
        word = escape_markdown(word)
        parts.append(f":red-background[{word}]" if confidence < threshold else word)
    return " ".join(parts)
