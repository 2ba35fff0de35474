"""Start the Streamlit server on app.py: used by `vitocr ui` and the browser check."""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import List, Optional

from ocr.errors import VitocrError

APP = Path(__file__).with_name("app.py")
MODEL_ENV = "VITOCR_UI_MODEL"  # the model preselected in the app: `vitocr ui --model`, or a test's tiny model
MAX_UPLOAD_MB = 100  # Streamlit refuses bigger uploads; ocr.images.MAX_PIXELS bounds what a file decodes to


def streamlit_command(port: int = 8501, max_upload_mb: int = MAX_UPLOAD_MB, headless: bool = False) -> List[str]:
    return [sys.executable, "-m", "streamlit", "run", str(APP),
            "--server.port", str(port),
            "--server.maxUploadSize", str(max_upload_mb),
            "--server.headless", str(headless).lower(),
            "--server.fileWatcherType", "none",  # an installed app does not change: no need to watch its files
            "--client.toolbarMode", "minimal",  # no developer menu or Deploy button for users
            "--server.showEmailPrompt", "false",  # Streamlit's first-run newsletter question is not ours to ask
            "--browser.gatherUsageStats", "false"]


def app_environment(model: Optional[str]) -> dict:
    env = dict(os.environ)
    if model:
        env[MODEL_ENV] = model  # a relative folder still works: the server starts in this working directory
    return env


def launch(model: Optional[str] = None, port: int = 8501, max_upload_mb: int = MAX_UPLOAD_MB,
           headless: bool = False) -> int:
    """Run the app until the user stops it (Ctrl-C); returns Streamlit's exit status."""
    if importlib.util.find_spec("streamlit") is None:
        raise VitocrError("the UI needs Streamlit: pip install 'vitocr[ui]'.")
    server = subprocess.Popen(streamlit_command(port, max_upload_mb, headless), env=app_environment(model))
    try:
        return server.wait()
    except KeyboardInterrupt:  # Ctrl-C reached Streamlit too: let it shut down cleanly
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        return 0
