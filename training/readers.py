"""Training data readers: every source becomes a list of LineSample (an image to load, its text, its page group).

Sources: folders of line images with `.gt.txt` sidecars (recursive), JSONL/TSV/CSV manifests, PAGE XML and ALTO pages.
Problems (a missing image, an empty or non-UTF-8 transcription) are collected, never raised one by one, so
`vitocr data check` can list all of them and training can skip them.
"""
import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Optional, Tuple

from ocr.errors import VitocrError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp"}
GROUP_KEYS = ("group", "folio_group", "page_id", "page", "book")  # what a manifest calls the page a line comes from


@dataclass
class LineSample:
    image: str  # path of the line image, or of the page it is cut from
    text: str
    group: str = ""  # page or folio: validation splits by group, never by line
    crop: Optional[Tuple[int, int, int, int]] = None  # box in the page image, for PAGE/ALTO lines
    polygon: Optional[List[Tuple[int, int]]] = None  # outline in the page image; outside it is background


@dataclass
class ReadResult:
    samples: List[LineSample] = field(default_factory=list)
    problems: List[str] = field(default_factory=list)  # one sentence each, naming the file

    def __iadd__(self, other: "ReadResult"):
        self.samples += other.samples
        self.problems += other.problems
        return self


def read_text(path: Path, problems: List[str]) -> Optional[str]:
    try:
        text = path.read_text(encoding="utf-8").strip("\n\r\ufeff")
    except UnicodeDecodeError:
        problems.append(f"{path}: not UTF-8 text; re-save it as UTF-8.")
        return None
    if "\n" in text:
        problems.append(f"{path}: holds several lines; a .gt.txt holds the transcription of one line.")
        return None
    if not text.strip():
        problems.append(f"{path}: empty transcription; delete the pair or transcribe the line.")
        return None
    return text


def read_gt_folder(folder: Path) -> ReadResult:
    """`name.png` + `name.gt.txt` pairs anywhere under `folder` (the tesstrain/kraken layout)."""
    result = ReadResult()
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    images = {(p.parent, p.stem): p for p in files if p.suffix.lower() in IMAGE_SUFFIXES}
    transcribed = set()
    for gt in (p for p in files if p.name.endswith(".gt.txt")):
        key = (gt.parent, gt.name[: -len(".gt.txt")])
        if key not in images:
            result.problems.append(f"{gt}: no image beside it named {key[1]}.png (or .jpg, .tif...).")
            continue
        transcribed.add(key)
        text = read_text(gt, result.problems)
        if text is not None:
            result.samples.append(LineSample(str(images[key]), text, str(gt.parent.relative_to(folder))))
    if transcribed:  # a folder of pairs: a lone image is a line someone forgot to transcribe
        for key in sorted(set(images) - transcribed):
            result.problems.append(f"{images[key]}: no transcription beside it ({key[1]}.gt.txt).")
    return result


def manifest_rows(path: Path, problems: List[str]) -> List[Tuple[int, dict]]:
    """(line number, row) of a JSONL, TSV (image<TAB>text) or CSV (columns image,text) manifest; a JSONL line that
    is not a JSON object is a problem, and the lines after it are still read."""
    if path.suffix.lower() == ".jsonl":
        rows = []
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as e:
                    problems.append(f"{path}:{n}: not a JSON object ({e.msg}); one object per line.")
                    continue
                if isinstance(row, dict):
                    rows.append((n, row))
                else:
                    problems.append(f"{path}:{n}: not a JSON object; one object per line.")
        return rows
    with path.open(encoding="utf-8", newline="") as f:
        if path.suffix.lower() == ".tsv":
            return [(n, {"image": r[0], "text": r[1] if len(r) > 1 else ""})
                    for n, r in enumerate(csv.reader(f, delimiter="\t"), 1) if r]
        return list(enumerate(csv.DictReader(f), 2))  # line 1 names the columns


def parse_where(conditions) -> dict:
    """["has_greek=false", "split=train"] -> {"has_greek": False, "split": "train"} (values read as JSON if they can)."""
    where = {}
    for condition in conditions or []:
        key, sep, value = condition.partition("=")
        if not sep:
            raise VitocrError(f"--where {condition!r}: write it as field=value, e.g. has_greek=false.")
        try:
            where[key] = json.loads(value)
        except json.JSONDecodeError:
            where[key] = value
    return where


def read_manifest(path: Path, where: dict = None) -> ReadResult:
    """Lines of a manifest; `where` keeps only rows whose fields equal its values (rows without the field stay)."""
    result = ReadResult()
    try:
        rows = manifest_rows(path, result.problems)
    except UnicodeDecodeError:
        result.problems.append(f"{path}: not UTF-8; re-save it as UTF-8.")
        return result
    for n, row in rows:
        if any(k in row and row[k] != v for k, v in (where or {}).items()):
            continue
        if "image" not in row or "text" not in row:
            result.problems.append(f"{path}:{n}: needs an 'image' and a 'text' field.")
            continue
        image = path.parent / row["image"]
        if not image.is_file():
            result.problems.append(f"{path}:{n}: image {row['image']} not found.")
        elif not str(row["text"]).strip():
            result.problems.append(f"{path}:{n}: empty transcription for {row['image']}.")
        else:
            group = next((str(row[k]) for k in GROUP_KEYS if row.get(k)), "")
            result.samples.append(LineSample(str(image), str(row["text"]), group))
    return result


def read_source(path, where: dict = None) -> ReadResult:
    """Any one source: a folder (of gt pairs or, if it has none, of PAGE/ALTO files), a manifest, or a PAGE/ALTO
    file."""
    path = Path(path)
    if path.is_dir():
        result = read_gt_folder(path)
        if not result.samples and not result.problems:
            for xml in sorted(path.rglob("*.xml")):
                result += read_page_file(xml)
        return result
    if not path.exists():
        return ReadResult(problems=[f"{path}: no such file or folder."])
    if path.suffix.lower() in (".jsonl", ".tsv", ".csv"):
        return read_manifest(path, where)
    if path.suffix.lower() == ".xml":
        return read_page_file(path)
    return ReadResult(problems=[f"{path}: not a folder, manifest (.jsonl, .tsv, .csv) or PAGE/ALTO .xml file."])


def read_page_file(path: Path) -> ReadResult:
    """Lines of a PAGE XML or ALTO file, each to be cut from its page image by polygon or box."""
    from ocr.layout_xml import read_layout_xml

    result = ReadResult()
    try:
        page = read_layout_xml(path)
    except ValueError as e:
        result.problems.append(str(e))
        return result
    for line in page.lines:
        if line.text and line.text.strip():
            result.samples.append(LineSample(str(page.image), line.text, path.stem, line.box, line.polygon))
    if page.lines and not result.samples:
        result.problems.append(f"{path}: its lines have no transcriptions to train on.")
    return result


def read_sources(paths, where: dict = None) -> ReadResult:
    result = ReadResult()
    for p in paths:
        result += read_source(p, where)
    return result
