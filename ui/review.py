"""Checking the reading: the page with its lines, the text line by line to correct, and one line up close with
where the model looked for each character."""
import streamlit as st
from PIL import Image

from .attention import line_attention
from .highlight import escape_markdown, highlighted_words
from .overlay import attention_overlay, page_overlay
from .transcription import Transcription

HEAT_SCALE = 4  # the preprocessed line is only the encoder's height (e.g. 32 px): enlarge it to see the map


def store_edit(page_index: int, line_id: str, key: str):
    st.session_state.edits[(page_index, line_id)] = st.session_state[key]


def edit_key(t: Transcription, page_index: int, line_id: str) -> str:
    return f"text-{t.run}-{page_index}-{line_id}"


def selected_key(t: Transcription, page_index: int) -> str:
    return f"line-{t.run}-{page_index}"


def choose_page(t: Transcription) -> int:
    if len(t.pages) <= 1:
        return 0
    return st.selectbox("Page", range(len(t.pages)), key=f"page-{t.run}",
                        format_func=lambda i: f"{i + 1}. {t.pages[i].page.source}")


def page_view(t: Transcription, page_index: int):
    result = t.pages[page_index]
    lines = result.page.lines
    # the line picker below, as last set; before its first run it shows the first line
    selected = st.session_state.get(selected_key(t, page_index)) or (lines[0].id if lines else None)
    st.image(page_overlay(result.image, lines, selected), width="stretch",
             caption="Lines outlined by confidence: green sure, red unsure; the selected line filled blue.")


def line_editor(t: Transcription, page_index: int, threshold: float):
    page = t.pages[page_index].page
    lines = page.lines
    dropped = (f" {page.dropped_lines} found line(s) read too unsurely to be text (a photo's texture, a rule) were "
               "left out." if page.dropped_lines else "")
    if not lines:
        st.info("No text lines were found on this page." + dropped)
        return
    st.caption(f"Words below {threshold:.0%} confidence are marked red. Edit a box to correct its line; "
               f"clear it to drop a line that is not text.{dropped}")
    edits = st.session_state.edits
    for n, line in enumerate(lines, 1):
        key = edit_key(t, page_index, line.id)
        label = f"**{n}** · {line.confidence:.0%} · {highlighted_words(line, threshold)}"
        st.text_input(label, value=edits.get((page_index, line.id), line.text), key=key, on_change=store_edit,
                      args=(page_index, line.id, key))


def character_label(text: str, index: int) -> str:
    return "end of line" if index < 0 else f"{index + 1}: {text[index]!r}"


def line_inspector(t: Transcription, page_index: int, recognizer):
    result = t.pages[page_index]
    lines = {line.id: line for line in result.page.lines}
    if not lines:
        return
    numbers = {line_id: n for n, line_id in enumerate(lines, 1)}
    line_id = st.selectbox("Line", list(lines), key=selected_key(t, page_index),
                           format_func=lambda i: f"{numbers[i]}. {lines[i].text[:60]}")
    line, crop = lines[line_id], result.crops[line_id]
    st.image(crop, caption="The line as the model read it")
    st.markdown(f"Decoded: `{line.text}`" if "`" not in line.text else f"Decoded: {escape_markdown(line.text)}")
    if recognizer is None:
        st.caption("Read the pages again with the chosen model to see where it looked.")
        return
    cache = st.session_state.attention
    if (page_index, line_id) not in cache:
        cache[(page_index, line_id)] = line_attention(recognizer, crop, line.text)
    attention = cache[(page_index, line_id)]
    char = st.select_slider("Character", list(range(len(line.text))) + [-1], key=f"char-{t.run}-{page_index}-{line_id}",
                            format_func=lambda i: character_label(line.text, i))
    heat = attention_overlay(attention.line, attention.heat(None if char < 0 else char))
    heat = heat.resize((heat.width * HEAT_SCALE, heat.height * HEAT_SCALE), Image.Resampling.NEAREST)
    st.image(heat, caption=f"Cross-attention while writing {character_label(line.text, char)}: "
                           "red to yellow where the decoder looked (the line as the encoder sees it)")
