"""The pages to read (uploads or the bundled sample) and reading them once: the result lives in the session, so
the reruns Streamlit makes on every click do not read the pages again."""
import itertools
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import streamlit as st

from ocr.errors import VitocrError
from ocr.images import MAX_PIXELS
from ocr.pages import PAGE_SUFFIXES

from .reading import MAX_PAGES_PER_FILE, PageResult, read_page, sample_pages, upload_pages
from .sidebar import Settings

RUN_IDS = itertools.count(1)  # widget keys carry the run, so a new reading starts with fresh text boxes


@dataclass
class Transcription:
    inputs: tuple  # what was read: ("sample",) or the uploads' (name, size, id)
    reading: tuple  # Settings.reading it was read with
    pages: List[PageResult] = field(default_factory=list)
    problems: List[str] = field(default_factory=list)  # one sentence per file that could not be read
    run: int = field(default_factory=lambda: next(RUN_IDS))


def use_sample():
    st.session_state.use_sample = True


def stop_using_sample():
    st.session_state.use_sample = False


def choose_inputs() -> Tuple[tuple, list]:
    """(a key naming the inputs, the uploaded files); an empty key when nothing is chosen."""
    uploads = st.file_uploader("Page images or PDFs", type=sorted(s.lstrip(".") for s in PAGE_SUFFIXES),
                               accept_multiple_files=True, key="uploads", on_change=stop_using_sample,
                               help="Several files at once; PDFs are read page by page "
                                    f"(the first {MAX_PAGES_PER_FILE} pages of each). Pages over "
                                    f"{MAX_PIXELS // 1_000_000} megapixels are refused: scale them down first.")
    st.button("Open the sample page", on_click=use_sample, key="open_sample")
    if st.session_state.get("use_sample"):
        return ("sample",), []
    return tuple((f.name, f.size, f.file_id) for f in uploads or []), list(uploads or [])


def read_inputs(inputs: tuple, uploads: list, settings: Settings, recognizer) -> Transcription:
    """Read every page of every input with a progress bar; a file that fails is noted and the others are read."""
    result = Transcription(inputs, settings.reading)
    pages = []
    if inputs == ("sample",):
        pages = sample_pages()
    for upload in uploads:
        try:
            file_pages, cut = upload_pages(upload.name, upload.getvalue())
        except VitocrError as e:
            result.problems.append(str(e))
            continue
        if cut:
            result.problems.append(f"{upload.name}: only its first {MAX_PAGES_PER_FILE} pages were read; "
                                   "split the file to read the rest.")
        pages += file_pages
    bar = st.progress(0.0, text="Reading…")
    for n, page in enumerate(pages):
        bar.progress(n / len(pages), text=f"Reading page {n + 1} of {len(pages)}…")
        try:
            result.pages.append(read_page(page, recognizer, settings.beams))
        except VitocrError as e:
            result.problems.append(str(e))
    bar.empty()
    return result


def current_transcription(inputs: tuple, uploads: list, settings: Settings, recognizer) -> Optional[Transcription]:
    """The session's reading of these inputs, read now if the inputs are new. New settings read the pages again at
    once, unless that would throw away the user's corrections: then only when asked."""
    state = st.session_state
    current: Optional[Transcription] = state.get("transcription")
    if not inputs:
        return None
    stale = current is None or current.inputs != inputs
    if not stale and current.reading != settings.reading and recognizer is not None:
        if not state.get("edits"):
            stale = True
        else:
            st.warning("The settings changed since these pages were read.")
            stale = st.button("Read the pages again with the new settings (your corrections are discarded)")
    if stale and recognizer is not None:
        current = state.transcription = read_inputs(inputs, uploads, settings, recognizer)
        state.edits, state.attention = {}, {}
    return current if current is not None and current.inputs == inputs else None
