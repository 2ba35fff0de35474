"""Which models the app can offer: the bundled ones (ocr/models/<name>) or a model folder the user names."""
import os
from typing import List, Optional

from ocr.pipeline import BUNDLED_MODELS, DEFAULT_MODEL

from .launch import MODEL_ENV

FOLDER_CHOICE = "a model folder…"


def bundled_models() -> List[str]:
    if not BUNDLED_MODELS.is_dir():
        return []
    return sorted(p.name for p in BUNDLED_MODELS.iterdir() if (p / "config.json").is_file())


def model_choices() -> List[str]:
    """Bundled names, the default first, then the choice of typing a folder path."""
    names = bundled_models()
    names.sort(key=lambda n: n != DEFAULT_MODEL)
    return names + [FOLDER_CHOICE]


def preselected_model() -> Optional[str]:
    return os.environ.get(MODEL_ENV) or None
