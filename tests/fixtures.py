"""Data the tests make themselves: rendered text lines, gt folders, manifests, PAGE and ALTO pages."""
import json
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

WORDS = ["the quick brown fox", "jumps over 12 dogs", "Kew Gardens, 1885", "a line of text", "hello world",
         "Hooker wrote", "fine print", "seven apples", "dear sir", "ten past nine", "yours truly", "old letters"]


def render(text: str, height: int = 40) -> Image.Image:
    font = ImageFont.load_default(size=int(height * 0.6))
    width = int(font.getlength(text)) + 16
    image = Image.new("L", (width, height), 235)
    ImageDraw.Draw(image).text((8, height * 0.15), text, fill=20, font=font)
    return image


def gt_folder(root: Path, texts=WORDS) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i, text in enumerate(texts):
        sub = root / f"page{i % 3}"
        sub.mkdir(exist_ok=True)
        render(text).save(sub / f"line{i:03d}.png")
        (sub / f"line{i:03d}.gt.txt").write_text(text + "\n", encoding="utf-8")
    return root


def page_image(texts, line_height=40, gap=20, width=600):
    """A page with one rendered line per text; returns (image, boxes)."""
    page = Image.new("L", (width, gap + len(texts) * (line_height + gap)), 235)
    boxes = []
    for i, text in enumerate(texts):
        line = render(text, line_height)
        y = gap + i * (line_height + gap)
        page.paste(line, (30, y))
        boxes.append((30, y, 30 + line.width, y + line.height))
    return page, boxes


def page_xml(root: Path, texts, name="page") -> Path:
    image, boxes = page_image(texts)
    image.save(root / f"{name}.png")
    lines = "".join(
        f'<TextLine id="l{i}"><Coords points="{x0},{y0} {x1},{y0} {x1},{y1} {x0},{y1}"/>'
        f"<TextEquiv><Unicode>{text}</Unicode></TextEquiv></TextLine>"
        for i, (text, (x0, y0, x1, y1)) in enumerate(zip(texts, boxes)))
    xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<PcGts xmlns="http://schema.primaresearch.org/PAGE/gts/'
           f'pagecontent/2019-07-15"><Page imageFilename="{name}.png" imageWidth="{image.width}" '
           f'imageHeight="{image.height}"><TextRegion id="r0"><Coords points="0,0 1,0 1,1 0,1"/>{lines}</TextRegion>'
           f"</Page></PcGts>")
    (root / f"{name}.xml").write_text(xml, encoding="utf-8")
    return root / f"{name}.xml"


def alto_xml(root: Path, texts, name="alto") -> Path:
    image, boxes = page_image(texts)
    image.save(root / f"{name}.png")
    lines = ""
    for i, (text, (x0, y0, x1, y1)) in enumerate(zip(texts, boxes)):
        words = "<SP/>".join(f'<String CONTENT="{w}"/>' for w in text.split(" "))
        lines += (f'<TextLine ID="l{i}" HPOS="{x0}" VPOS="{y0}" WIDTH="{x1 - x0}" HEIGHT="{y1 - y0}">{words}'
                  f"</TextLine>")
    xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<alto xmlns="http://www.loc.gov/standards/alto/ns-v4#">'
           f"<Description><MeasurementUnit>pixel</MeasurementUnit><sourceImageInformation><fileName>{name}.png"
           f'</fileName></sourceImageInformation></Description><Layout><Page WIDTH="{image.width}" '
           f'HEIGHT="{image.height}"><PrintSpace><TextBlock ID="b0">{lines}</TextBlock></PrintSpace></Page>'
           f"</Layout></alto>")
    (root / f"{name}.xml").write_text(xml, encoding="utf-8")
    return root / f"{name}.xml"


def manifests(root: Path, texts=WORDS) -> dict:
    """The same lines as JSONL, TSV and CSV manifests."""
    (root / "img").mkdir(parents=True, exist_ok=True)
    for i, text in enumerate(texts):
        render(text).save(root / "img" / f"{i}.png")
    jsonl = "".join(json.dumps({"image": f"img/{i}.png", "text": t, "page_id": f"p{i % 2}"}) + "\n"
                    for i, t in enumerate(texts))
    (root / "lines.jsonl").write_text(jsonl, encoding="utf-8")
    (root / "lines.tsv").write_text("".join(f"img/{i}.png\t{t}\n" for i, t in enumerate(texts)), encoding="utf-8")
    (root / "lines.csv").write_text("image,text\n" + "".join(f'img/{i}.png,"{t}"\n' for i, t in enumerate(texts)),
                                    encoding="utf-8")
    return {k: root / f"lines.{k}" for k in ("jsonl", "tsv", "csv")}
