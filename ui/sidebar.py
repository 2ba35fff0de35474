"""The sidebar: which model, device, beam width, views, language model and review threshold; the model is loaded
once per process."""
from dataclasses import dataclass
from typing import Optional

import streamlit as st
import torch

from ocr.charlm import FILE as LM_FILE
from ocr.errors import VitocrError
from ocr.pipeline import load_recognizer, model_path
from ocr.recognizer import VIEWS, Recognizer

from .models import FOLDER_CHOICE, bundled_models, model_choices, preselected_model


MODELS_OWN = "model's"


@dataclass(frozen=True)
class Settings:
    model: str  # a bundled name or a folder path; "" when none is chosen yet
    device: str
    beams: Optional[int]  # None: the model's own
    threshold: float  # words below this confidence are highlighted
    language_model: bool = True  # read with the model's lm.json, if it has one
    views: Optional[int] = None  # None: the model's own

    @property
    def reading(self) -> tuple:
        """What the text depends on: changing these means reading the pages again."""
        return self.model, self.device, self.beams, self.language_model, self.views


@st.cache_resource(max_entries=2, show_spinner="Loading the model…")  # a model is large: keep few in memory
def cached_recognizer(folder: str, device: str, language_model: bool = True, views: Optional[int] = None
                      ) -> Recognizer:
    return load_recognizer(folder, device, lm_weight=None if language_model else 0.0, views=views)


def has_language_model(model: str) -> bool:
    try:
        return bool(model) and (model_path(model) / LM_FILE).is_file()
    except VitocrError:  # no such model: said where it is loaded
        return False


def choose_model() -> str:
    choices = model_choices()
    wanted = preselected_model()
    index = choices.index(wanted) if wanted in choices else len(choices) - 1 if wanted else 0
    choice = st.selectbox("Model", choices, index=index, key="model_choice")
    if choice != FOLDER_CHOICE:
        return choice
    if not bundled_models():
        st.info("No bundled model is installed yet (the `printed` model ships once it is trained). "
                "Give the path of a model folder: one holding config.json, model.safetensors and tokenizer.json.")
    folder = st.text_input("Model folder", value=wanted if wanted not in choices else "", key="model_folder",
                           placeholder="path/to/model")
    return folder.strip()


def settings_sidebar() -> Settings:
    with st.sidebar:
        st.header("Settings")
        model = choose_model()
        devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
        device = st.selectbox("Device", devices, index=len(devices) - 1, key="device")
        beams = st.select_slider("Beam width", [MODELS_OWN, *range(1, 9)], MODELS_OWN, key="beams",
                                 help="the model's own (the width measured best for it), or 1 (fastest) to 8")
        views = st.select_slider("Views", [MODELS_OWN, *range(1, len(VIEWS) + 1)], MODELS_OWN, key="views",
                                 help="read each line as it is, zoomed out, squeezed (1 to 3 of these), and let "
                                      "them vote: slower, fewer errors on handwriting")
        language_model = True
        if has_language_model(model):
            language_model = st.checkbox("Language model", True, key="language_model",
                                         help="the model's n-gram model of its training text (lm.json), used with 2 "
                                              "or more beams; turn it off for text in another language")
        threshold = st.slider("Highlight words below confidence", 0.0, 1.0, 0.8, 0.05, key="threshold")
    return Settings(model, device, None if beams == MODELS_OWN else beams, threshold, language_model,
                    None if views == MODELS_OWN else views)


def load_model(settings: Settings) -> Optional[Recognizer]:
    """The recogniser, or None after saying why there is none."""
    if not settings.model:
        st.warning("Choose a model in the sidebar to read pages.")
        return None
    try:
        return cached_recognizer(str(model_path(settings.model)), settings.device, settings.language_model,
                                 settings.views)
    except VitocrError as e:
        st.error(str(e))
        return None
