"""A model is one folder: config.json, model.safetensors, tokenizer.json (and, optionally, lm.json: ocr/charlm.py).
Nothing is ever unpickled.

Folders are written to a temporary sibling and renamed into place, so a crash never leaves half a model.
"""
import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .atomic import UMASK
from .errors import VitocrError
from .model import ModelConfig, OCRModel
from .tokenizer import TextTokenizer

FILES = ("config.json", "model.safetensors", "tokenizer.json")


@contextlib.contextmanager
def atomic_folder(folder):
    """Yield a temporary sibling of `folder` to fill; it replaces `folder` only if the block completes."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        yield tmp
        for path in [tmp, *tmp.iterdir()]:  # mkdtemp makes the folder private; a model folder is not
            os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~UMASK)
        replace_dir(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_model_files(folder: Path, model: OCRModel, tokenizer: TextTokenizer):
    (folder / "config.json").write_text(json.dumps(model.config.to_dict(), indent=2, ensure_ascii=False) + "\n",
                                        encoding="utf-8")
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(state, str(folder / "model.safetensors"))
    tokenizer.save(folder / "tokenizer.json")


def save_model(folder, model: OCRModel, tokenizer: TextTokenizer, extra_files: dict = None):
    """Write the model folder atomically (an existing folder is replaced only once the new one is complete)."""
    with atomic_folder(folder) as tmp:
        write_model_files(tmp, model, tokenizer)
        for name, text in (extra_files or {}).items():
            (tmp / name).write_text(text, encoding="utf-8")


def replace_dir(src: Path, dst: Path):
    """Move folder `src` to `dst`, replacing it; `dst` is never missing for longer than two renames."""
    old = None
    if dst.exists():
        old = dst.with_name(f".{dst.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(dst, old)
    os.replace(src, dst)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def load_model(folder, device="cpu"):
    """(model in eval mode, tokenizer) from a model folder, or a VitocrError that says what is wrong."""
    folder = Path(folder)
    if not folder.is_dir():
        raise VitocrError(f"{folder}: no such model folder; give a folder holding {', '.join(FILES)}.")
    missing = [f for f in FILES if not (folder / f).is_file()]
    if missing:
        raise VitocrError(f"{folder} is not a vitocr model folder: {', '.join(missing)} missing "
                          f"(a model folder holds {', '.join(FILES)}).")
    try:
        config = ModelConfig.from_dict(json.loads((folder / "config.json").read_text(encoding="utf-8")))
        tokenizer = TextTokenizer.load(folder / "tokenizer.json")
    except Exception as e:  # json, tokenizers and dataclass errors alike
        raise VitocrError(f"{folder}: config.json or tokenizer.json is unreadable ({e}); re-export the model.") from e
    if tokenizer.vocab_size != config.decoder.vocab_size:
        raise VitocrError(f"{folder}: tokenizer.json has {tokenizer.vocab_size} tokens but config.json expects "
                          f"{config.decoder.vocab_size}; the files come from different models.")
    model = OCRModel(config)
    try:
        state = load_file(str(folder / "model.safetensors"))
    except (SafetensorError, OSError) as e:
        raise VitocrError(f"{folder / 'model.safetensors'} is not a readable safetensors file ({e}).") from e
    expected = model.state_dict()
    wrong = sorted(set(expected) ^ set(state)) + [k for k in expected if k in state and state[k].shape != expected[k].shape]
    if wrong:
        raise VitocrError(f"{folder / 'model.safetensors'} does not match config.json (first differing tensors: "
                          f"{', '.join(wrong[:3])}); the files come from different models.")
    model.load_state_dict(state)
    return model.to(device).eval(), tokenizer
