import csv
from xml.etree import ElementTree

from training.curves import curves_svg, read_log, write_curves

SVG = "{http://www.w3.org/2000/svg}"


def write_log(path, rows):
    with path.open("w", newline="") as f:
        csv.writer(f).writerows([("step", "name", "value"), *rows])


def polylines(svg: str) -> dict:
    """{stroke colour: [(x, y), ...]} of every polyline."""
    root = ElementTree.fromstring(svg)
    return {p.get("stroke"): [tuple(map(float, xy.split(","))) for xy in p.get("points").split()]
            for p in root.iter(f"{SVG}polyline")}


def test_curves_place_each_logged_value_by_its_step_and_size(tmp_path):
    losses = [(step, "loss", 2.0 - step / 100) for step in range(10, 110, 10)]
    validations = [(50, "val_cer", 0.5), (50, "val_ctc_cer", 0.6), (100, "val_cer", 0.25), (100, "val_ctc_cer", "nan")]
    write_log(tmp_path / "log.csv", losses + validations)
    svg = write_curves(tmp_path).read_text()
    assert "training loss" in svg and "validation CER (%)" in svg
    lines = polylines(svg)
    loss, cer, ctc = lines["#1f77b4"], lines["#d62728"], lines["#ff7f0e"]
    assert len(loss) == 10 and len(cer) == 2 and len(ctc) == 1  # a value that is not a number is left out
    (x50, y50), (x100, y25) = cer
    frame = [r for r in ElementTree.fromstring(svg).iter(f"{SVG}rect") if r.get("stroke")][1]  # the CER panel's
    left, baseline = float(frame.get("x")), float(frame.get("y")) + float(frame.get("height"))  # step 0, CER 0 %
    assert abs((x100 - left) - 2 * (x50 - left)) < 0.2  # step 100 twice as far right as step 50
    assert abs((baseline - y50) - 2 * (baseline - y25)) < 0.2  # 50 % twice as high as 25 %
    assert ctc[0][0] == x50 and ctc[0][1] < y50  # 60 % above 50 %, at the same step
    # the loss is the running mean of the last 10 logs: its last point lies at the mean of all ten
    (_, y_first), (_, y_last) = loss[0], loss[-1]
    assert y_first < y_last  # 1.9 at first, the mean 1.45 at the end: lower on the page is smaller


def test_a_run_without_validation_draws_only_its_loss(tmp_path):
    write_log(tmp_path / "log.csv", [(10, "loss", 1.5), (20, "loss", 1.2), (20, "lr", 0.001)])
    svg = curves_svg(read_log(tmp_path / "log.csv"))
    assert "validation CER" not in svg and len(polylines(svg)) == 1
    assert ElementTree.fromstring(svg).get("width") == "380"
