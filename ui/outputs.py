"""What the user takes away: downloads of the corrected text, and corrected lines saved as training data."""
from pathlib import Path

import streamlit as st

from .editing import edited_document, edited_lines
from .exports import DOWNLOADS, download_name, download_stem, export
from .training_data import line_name, save_lines
from .transcription import Transcription

EDITED, ALL = "lines I corrected", "every line (checked by me)"


def downloads(t: Transcription, model: str):
    doc = edited_document(t.pages, st.session_state.edits, model)
    stem = download_stem([p.page.source for p in t.pages])
    images = [p.image for p in t.pages]
    for column, fmt in zip(st.columns(len(DOWNLOADS)), DOWNLOADS):
        name, mime = download_name(fmt, stem, len(doc.pages))
        # text is small and made now; the others are made only when their button is clicked
        data = export(doc, fmt, stem, images) if fmt == "txt" else (lambda fmt=fmt: export(doc, fmt, stem, images))
        with column:
            st.download_button(DOWNLOADS[fmt][0], data, file_name=name, mime=mime, key=f"download-{fmt}",
                               on_click="ignore")


def training_data(t: Transcription, model: str):
    st.caption("Each line is saved as `name.png` + `name.gt.txt`, the layout "
               f"`vitocr train --init-from {model or 'MODEL'} --train FOLDER` fine-tunes on.")
    folder = st.text_input("Folder", key="training_folder", placeholder="corrections/")
    which = st.radio("Save", [EDITED, ALL], key="training_lines", horizontal=True)
    if not st.button("Save lines as training data", key="save_lines"):
        return
    if not folder.strip():
        st.error("Name the folder to save the lines in.")
        return
    edits = st.session_state.edits
    chosen = set(edited_lines(t.pages, edits)) if which == EDITED else None
    items = [(line_name(p.page.source, line.id), p.crops[line.id], edits.get((i, line.id), line.text))
             for i, p in enumerate(t.pages) for line in p.page.lines if chosen is None or (i, line.id) in chosen]
    if not items:
        st.warning("No line was corrected yet: edit a line, or choose to save every line.")
        return
    try:
        written = save_lines(folder.strip(), items)
    except OSError as e:
        st.error(f"{folder}: cannot write there ({e.strerror or e}).")
        return
    st.success(f"Saved {len(written)} line(s) to {Path(folder.strip()).expanduser().resolve()}.")
