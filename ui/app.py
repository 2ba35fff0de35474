"""vitocr's page reader and corrector, a Streamlit script: `vitocr ui` (or `streamlit run ui/app.py`).

Read uploaded pages (or the bundled sample), check the lines and correct their text, look at where the model looked,
then download the corrected text or save the corrected lines as training data.
"""
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[1]))  # `streamlit run` puts only ui/ itself on the path

import streamlit as st  # noqa: E402

from ui.outputs import downloads, training_data  # noqa: E402
from ui.review import choose_page, line_editor, line_inspector, page_view  # noqa: E402
from ui.sidebar import load_model, settings_sidebar  # noqa: E402
from ui.transcription import choose_inputs, current_transcription  # noqa: E402

st.set_page_config(page_title="vitocr", layout="wide")
st.title("vitocr")
settings = settings_sidebar()
recognizer = load_model(settings)
inputs, uploads = choose_inputs()
transcription = current_transcription(inputs, uploads, settings, recognizer)
if transcription is None:
    st.stop()

for problem in transcription.problems:
    st.error(problem)
if not transcription.pages:
    st.stop()

page_index = choose_page(transcription)
left, right = st.columns([3, 2])
with left:
    page_view(transcription, page_index)
with right:
    st.subheader("Transcription")
    line_editor(transcription, page_index, settings.threshold)

st.subheader("A line up close")
# attention is only meaningful from the model that read the text: not after the settings changed
line_inspector(transcription, page_index, recognizer if transcription.reading == settings.reading else None)
st.subheader("Download the corrected text")
downloads(transcription, settings.model)
st.subheader("Keep the corrections as training data")
training_data(transcription, settings.model)
