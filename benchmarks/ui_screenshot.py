"""Browser check of `vitocr ui`: start the app headless, open the sample page in Chromium, wait for the
transcription, save a screenshot and check the page shows transcribed text.

It drives Debian's chromium (`apt-get install chromium`) through Playwright (`pip install playwright`; no
`playwright install`: the system browser is used), with a fresh profile and no background networking.

    python benchmarks/ui_screenshot.py                            # bundled model, or a tiny random one if none
    python benchmarks/ui_screenshot.py --model path/to/model --expect INTRODUCTION --out ui.png

It prints how long the reading took and the first lines read; the exit status is 0 when text was shown (and
contained --expect, if given). A random model reads gibberish: the check is then only that the app works end to end.
"""
import argparse
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ui.launch import app_environment, streamlit_command  # noqa: E402
from ui.models import bundled_models  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
LINE_INPUTS = '[data-testid="stMain"] [data-testid="stTextInput"] input'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def random_model(folder: Path) -> Path:
    """A tiny untrained model, for when no trained one is at hand."""
    import torch

    from ocr import DecoderConfig, ModelConfig, OCRModel, TextTokenizer, save_model

    tokenizer = TextTokenizer.char_level(["abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:'-!?"])
    torch.manual_seed(0)
    decoder = DecoderConfig(vocab_size=tokenizer.vocab_size, dim=64, depth=2, heads=4, max_length=24, dropout=0.0)
    model = OCRModel(ModelConfig(encoder={"name": "vit_tiny", "max_width": 256}, decoder=decoder))
    save_model(folder / "model", model.eval(), tokenizer)
    return folder / "model"


def wait_until_healthy(url: str, server: subprocess.Popen, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the Streamlit server exited with status {server.returncode}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"the app did not answer at {url} within {timeout:.0f} s")


def read_sample(url: str, out: Path, profile: Path, timeout: float) -> list:
    """Open the app, click the sample, wait for the line boxes, screenshot; returns the lines' text."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(str(profile), executable_path=CHROMIUM, headless=True,
                                                       args=CHROMIUM_ARGS, viewport={"width": 1400, "height": 2400})
        try:
            page = browser.new_page()
            page.goto(url, timeout=timeout * 1000)
            page.get_by_role("button", name="Open the sample page").click(timeout=timeout * 1000)
            started = time.monotonic()
            page.wait_for_function(f"""() => [...document.querySelectorAll('{LINE_INPUTS}')]
                                               .some(box => box.value.trim() !== '')""", timeout=timeout * 1000)
            # the last widgets drawn, then no script run going on: the page is complete
            page.get_by_role("button", name="Save lines as training data").wait_for(timeout=timeout * 1000)
            page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=timeout * 1000)
            page.wait_for_load_state("networkidle")  # the page and attention images have arrived
            print(f"transcribed in {time.monotonic() - started:.1f} s (browser view)")
            page.screenshot(path=str(out))  # Streamlit scrolls inside the page: a tall window shows it all
            return [box.input_value() for box in page.locator(LINE_INPUTS).all() if box.input_value().strip()]
        finally:
            browser.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="bundled model or model folder; default: printed, else a tiny random one")
    parser.add_argument("--out", default="ui-screenshot.png", help="where the screenshot goes")
    parser.add_argument("--expect", help="text that must appear among the lines read")
    parser.add_argument("--timeout", type=float, default=300, help="seconds for each wait")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="vitocr-ui-check-") as scratch:
        scratch = Path(scratch)
        model = args.model or ("printed" if "printed" in bundled_models() else None)
        if model is None:
            print("no bundled model: using a tiny random one (it reads gibberish)")
            model = str(random_model(scratch))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with open(scratch / "server.log", "w") as log:
            server = subprocess.Popen(streamlit_command(port, headless=True) + ["--server.address", "127.0.0.1"],
                                      env=app_environment(model), stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until_healthy(url, server, args.timeout)
            (scratch / "profile").mkdir()
            lines = read_sample(url, Path(args.out), scratch / "profile", args.timeout)
        except Exception:
            print((scratch / "server.log").read_text()[-3000:], file=sys.stderr)
            raise
        finally:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
    print(f"screenshot: {args.out}; {len(lines)} lines shown, the first ones:")
    for line in lines[:3]:
        print("  " + line)
    if not lines:
        print("FAIL: no transcribed text on the page")
        return 1
    if args.expect and not any(args.expect in line for line in lines):
        print(f"FAIL: {args.expect!r} is not among the lines read")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
