"""Training-time line augmentation: determinism, sizes, ink and paper colour."""

import dataclasses
import hashlib
import math
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from training.augment import MAX_TILT_DRIFT, PROFILES, AugmentProfile, LineAugment, paper_colour, reframe

REPO_ROOT = Path(__file__).resolve().parents[1]
TEXT = "Quick brown fox 1234"
GEOMETRY = ("warp", "perspective", "slant", "rotate")


def text_line(height=48, paper=255, ink=0, frame=False):
    """A line of the built-in font, half the line height, with a margin; `frame` puts ink along every edge."""
    font = ImageFont.load_default(size=height // 2)
    image = Image.new("L", (round(font.getlength(TEXT)) + height, height), paper)
    draw = ImageDraw.Draw(image)
    draw.text((height // 2, height // 2), TEXT, fill=ink, font=font, anchor="lm")
    if frame:
        draw.rectangle((0, 0, image.width - 1, image.height - 1), outline=ink, width=2)
    return image


def only(*names):
    """The handwriting profile with just `names`, always applied."""
    return dataclasses.replace(PROFILES["handwriting"], **{
        field.name: (1.0, getattr(PROFILES["handwriting"], field.name)[1]) if field.name in names else (0.0, 0.0)
        for field in dataclasses.fields(AugmentProfile) if field.name != "min_rows"})


def ink_pixels(image):
    """Pixels darker than halfway between paper (90th percentile) and ink (1st percentile); and that contrast."""
    pixels = np.asarray(image)
    paper, ink = np.percentile(pixels, 90), np.percentile(pixels, 1)
    return int((pixels < (paper + ink) / 2).sum()), paper - ink


def darkness(image, paper=255):
    return float(np.clip(paper - np.asarray(image, np.float64), 0, None).sum())


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_same_seed_gives_identical_images(profile):
    line, augment = text_line(), LineAugment(profile)
    for seed in range(5):
        first, second = augment(line, random.Random(seed)), augment(line, random.Random(seed))
        assert first.size == second.size
        assert first.tobytes() == second.tobytes()


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_different_seeds_give_different_images(profile):
    line, augment = text_line(), LineAugment(profile)
    outputs = {augment(line, random.Random(seed)).tobytes() for seed in range(8)}
    assert len(outputs) == 8


def test_identical_in_a_fresh_process():
    """DataLoader workers seed an rng per line: another process must draw the same image."""
    code = (
        "import hashlib, random, sys\n"
        "from tests.test_augment import text_line\n"
        "from training.augment import LineAugment\n"
        "image = LineAugment('handwriting', 1.5)(text_line(), random.Random('line 7'))\n"
        "sys.stdout.write(hashlib.sha256(image.tobytes()).hexdigest())\n"
    )
    child = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True,
                           text=True, check=True, env={**os.environ, "PYTHONHASHSEED": "123"})
    image = LineAugment("handwriting", 1.5)(text_line(), random.Random("line 7"))
    assert child.stdout == hashlib.sha256(image.tobytes()).hexdigest()


@pytest.mark.parametrize("profile", sorted(PROFILES))
@pytest.mark.parametrize("strength", [1.0, 2.0])
def test_output_is_grayscale_and_only_grows_a_little(profile, strength):
    line = text_line()
    w, h = line.size
    augment = LineAugment(profile, strength)
    for seed in range(30):
        out = augment(line, random.Random(seed))
        assert out.mode == "L"
        # Rotation heightens the canvas, by at most MAX_TILT_DRIFT line heights, and reframing (in the profiles
        # that have it) by its size either way; slant and rotation widen it, and a stretch changes the width.
        reframing = PROFILES[profile].reframe[1] * strength
        assert h - round(reframing * h) <= out.height <= h + math.ceil(MAX_TILT_DRIFT * h) + 1 + round(reframing * h)
        stretch = PROFILES[profile].stretch[1] * strength
        assert round(w * (1 - stretch)) <= out.width <= round(w * (1 + stretch)) + h


def test_colour_input_comes_out_grayscale():
    out = LineAugment("print")(text_line().convert("RGB"), random.Random(0))
    assert out.mode == "L"


@pytest.mark.parametrize("profile", sorted(PROFILES))
@pytest.mark.parametrize("height", [32, 64])
def test_ink_is_neither_erased_nor_flooded(profile, height):
    line = text_line(height)
    ink_before, _ = ink_pixels(line)
    augment = LineAugment(profile)
    for seed in range(40):
        ink_after, contrast = ink_pixels(augment(line, random.Random(seed)))
        assert 0.5 * ink_before <= ink_after <= 2.5 * ink_before, seed
        assert contrast >= 80, seed  # ink stays clearly darker than the paper


@pytest.mark.parametrize("transform", ["warp", "slant", "rotate"])
def test_geometry_keeps_ink_at_the_very_edges(transform):
    # A frame along the border loses a large share of its ink to any crop (a 1 degree rotation
    # on the same canvas cuts 14% of it); these transforms keep the ink's area.
    line = text_line(frame=True)
    augment = LineAugment(only(transform), strength=2.0)
    for seed in range(10):
        assert darkness(augment(line, random.Random(seed))) == pytest.approx(darkness(line), rel=0.03)


def test_stretch_makes_lines_both_narrower_and_wider_within_its_size_and_keeps_the_height():
    line = text_line()
    largest = PROFILES["handwriting-strong"].stretch[1]
    augment = LineAugment(dataclasses.replace(only(), stretch=(1.0, largest)))
    widths = {augment(line, random.Random(seed)).size for seed in range(40)}
    assert {h for _, h in widths} == {line.height}
    widths = sorted(w for w, _ in widths)
    assert round(line.width * (1 - largest)) <= widths[0] < 0.9 * line.width
    assert 1.1 * line.width < widths[-1] <= round(line.width * (1 + largest))


def test_reframing_pads_with_paper_and_trims_only_blank_rows():
    line = text_line()
    augment = LineAugment(dataclasses.replace(only(), reframe=PROFILES["print-degraded-reframed"].reframe))
    outputs = [augment(line, random.Random(seed)) for seed in range(40)]
    assert {out.width for out in outputs} == {line.width}
    heights = sorted(out.height for out in outputs)
    assert heights[0] < 0.85 * line.height and heights[-1] > 1.15 * line.height  # tighter and looser crops
    assert all(darkness(out) == darkness(line) for out in outputs)  # all the ink, and paper added
    framed = text_line(frame=True)  # ink at the edges: nothing to trim
    assert all(augment(framed, random.Random(seed)).height >= framed.height for seed in range(20))


def test_reframing_cuts_what_reaches_in_from_the_line_above_but_not_the_lines_own_ascenders():
    line = text_line(height=64)
    neighbour = line.copy()
    ImageDraw.Draw(neighbour).rectangle((40, 0, 44, 3), fill=0)  # a descender of the line above
    tight = reframe(neighbour, 255, -0.5, share_above=1.0)
    assert tight.height < line.height
    assert darkness(tight) == darkness(reframe(line, 255, -0.5, share_above=1.0)) == darkness(line)


def test_perspective_keeps_the_canvas_and_shrinks_the_ink_inwards():
    line = text_line(frame=True)
    augment = LineAugment(only("perspective"), strength=2.0)
    for seed in range(10):
        out = augment(line, random.Random(seed))
        assert out.size == line.size
        assert 0.5 * darkness(line) < darkness(out) < darkness(line)


def test_uncovered_areas_are_white_on_white_paper():
    blank = Image.new("L", (400, 40), 255)
    augment = LineAugment(only(*GEOMETRY), strength=3.0)
    for seed in range(10):
        assert np.asarray(augment(blank, random.Random(seed))).min() == 255


def test_uncovered_areas_get_the_paper_colour_not_black():
    line = text_line(paper=200, ink=100)
    assert paper_colour(line) == 200
    augment = LineAugment(only(*GEOMETRY), strength=2.0)
    for seed in range(10):
        out = augment(line, random.Random(seed))
        pixels = np.asarray(out)
        assert pixels.min() >= 100 and pixels.max() <= 200  # nothing outside the ink..paper range
        assert out.getpixel((0, 0)) == 200


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_blank_paper_stays_blank_under_geometry_and_contrast(profile):
    # Black fill would come out below 90 even after the largest contrast loss and brightening. Noise is left out:
    # print-degraded's photocopier grain darkens single pixels that far, but fills nothing.
    augment = LineAugment(dataclasses.replace(PROFILES[profile], noise=(0.0, 0.0)))
    for seed in range(30):
        assert np.asarray(augment(Image.new("L", (400, 40), 255), random.Random(seed))).min() >= 150


def test_thinner_strokes_keep_three_quarters_of_hairline_ink():
    hairlines = Image.new("L", (200, 64), 255)
    ImageDraw.Draw(hairlines).line([(10, 32), (190, 32)], fill=0, width=1)
    augment = LineAugment(only("stroke"), strength=3.0)
    for seed in range(20):
        assert darkness(augment(hairlines, random.Random(seed))) >= 0.74 * darkness(hairlines)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_strength_zero_returns_the_input_unchanged(profile):
    line = text_line()
    out = LineAugment(profile, strength=0.0)(line, random.Random(0))
    assert out is not line
    assert (out.mode, out.size, out.tobytes()) == (line.mode, line.size, line.tobytes())


def test_input_image_is_not_modified():
    line = text_line()
    before = line.tobytes()
    LineAugment("handwriting", 2.0)(line, random.Random(0))
    assert line.tobytes() == before


def test_paper_colour_is_the_90th_percentile():
    image = Image.new("L", (10, 10), 230)
    image.paste(0, (0, 0, 10, 1))  # 10% ink
    assert paper_colour(image) == 230
    image.paste(0, (0, 0, 10, 2))  # 20% ink: the 90th percentile is still paper
    assert paper_colour(image) == 230


def test_rejects_unknown_profile_and_negative_strength():
    with pytest.raises(ValueError, match="unknown profile"):
        LineAugment("typewriter")
    with pytest.raises(ValueError, match="strength"):
        LineAugment("print", strength=-0.5)


@pytest.mark.parametrize("size", [(1, 1), (400, 1), (1, 400), (8, 8)])
def test_degenerate_sizes_do_not_fail(size):
    augment = LineAugment("handwriting", strength=3.0)
    for seed in range(20):
        assert augment(Image.new("L", size, 200), random.Random(seed)).mode == "L"


@pytest.mark.parametrize("rows", [24, 10])
def test_resolution_loss_goes_down_to_the_profiles_least_rows_and_no_further(rows):
    """print keeps 24 rows of a line; print-degraded goes down to 10, a 100 dpi scan of small print."""
    line = text_line(height=60)
    profile = dataclasses.replace(only("resolution"), resolution=(1.0, 1.0), min_rows=rows)
    outputs = {LineAugment(profile)(line, random.Random(seed)).tobytes() for seed in range(40)}
    smallest = (round(line.width * rows / 60), rows)
    floor = line.resize(smallest, Image.Resampling.BILINEAR).resize(line.size, Image.Resampling.BILINEAR)
    assert floor.tobytes() in outputs
    assert PROFILES["print"].min_rows == 24 and PROFILES["print-degraded"].min_rows == 10


def test_low_scans_reach_ten_rows_whatever_the_crop_height():
    """print-lowres scans lines at 10-20 rows, however tall their crop; relative resolution loss alone keeps most of
    a tall crop's rows (the benchmark's low-res lines are 12 rows)."""
    line = text_line(height=90)
    fewest = PROFILES["print-lowres"].scan_rows[1]
    profile = dataclasses.replace(only(), scan_rows=(1.0, fewest))
    scans = {rows: line.resize((round(line.width * rows / 90), rows), Image.Resampling.BILINEAR)
             .resize(line.size, Image.Resampling.BILINEAR).tobytes() for rows in range(fewest, 2 * fewest + 1)}
    outputs = {LineAugment(profile)(line, random.Random(seed)).tobytes() for seed in range(60)}
    assert outputs <= set(scans.values()) and scans[fewest] in outputs and len(outputs) > 5
    assert fewest == 10 and PROFILES["print-degraded-reframed"].scan_rows[0] == 0


def test_a_recipes_augmentation_strength_reaches_its_training_lines(tmp_path):
    from tests.test_readers import gt_folder
    from training.config import TrainConfig
    from training.setup import prepare_data

    def augment(strength):
        cfg = TrainConfig(train=[str(gt_folder(tmp_path / "gt"))], augment="handwriting-strong",
                          augment_strength=strength)
        return prepare_data(cfg).augment

    line = text_line()
    assert augment(0.0)(line, random.Random(1)).tobytes() == line.tobytes()
    assert repr(augment(2.0)) == repr(LineAugment("handwriting-strong", 2.0))
    assert augment(2.0)(line, random.Random(1)).tobytes() == LineAugment("handwriting-strong", 2.0)(
        line, random.Random(1)).tobytes()
