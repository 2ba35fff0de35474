"""Where the real ground truth lives: ../shared/data beside the repository, or $VITOCR_DATA. Tests skip without it."""
import json
import os
from pathlib import Path

import pytest

DATA = Path(os.environ.get("VITOCR_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def manifest(name: str) -> list:
    path = DATA / name / "manifest.jsonl"
    if not path.is_file():
        pytest.skip(f"real data {name} not found under {DATA} (set VITOCR_DATA)")
    return [dict(json.loads(line), image=str(path.parent / json.loads(line)["image"])) for line in path.open()]
