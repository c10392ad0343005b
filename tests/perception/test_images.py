"""Every bad image or depth file gets a BadInputError that names the problem and the fix."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from imaginarium.core.errors import BadInputError
from imaginarium.core.perception.depth_io import read_depth
from imaginarium.core.perception.images import load_image


def _rgb(h=120, w=160):
    return (np.random.default_rng(0).integers(0, 255, (h, w, 3))).astype(np.uint8)


def test_good_rgb_png_and_jpeg_load_with_hash(tmp_path):
    Image.fromarray(_rgb()).save(tmp_path / "a.png")
    Image.fromarray(_rgb()).save(tmp_path / "a.jpg", quality=90)
    a, b = load_image(tmp_path / "a.png"), load_image(tmp_path / "a.jpg")
    assert a.rgb.shape == (120, 160, 3) and a.rgb.dtype == np.uint8 and len(a.sha256) == 64
    assert b.width == 160 and b.height == 120


def test_opaque_rgba_is_accepted_but_transparency_is_an_error(tmp_path):
    rgba = np.dstack([_rgb(), np.full((120, 160), 255, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "opaque.png")
    assert load_image(tmp_path / "opaque.png").rgb.shape == (120, 160, 3)
    rgba[10:20, 10:20, 3] = 0
    Image.fromarray(rgba, "RGBA").save(tmp_path / "holes.png")
    with pytest.raises(BadInputError, match="transparent") as exc:
        load_image(tmp_path / "holes.png")
    assert "Flatten" in exc.value.fix


def test_exif_orientation_is_applied_and_focal_read(tmp_path):
    img = Image.fromarray(_rgb(100, 200))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° on display
    exif.get_ifd(0x8769)[0xA405] = 28
    img.save(tmp_path / "rot.jpg", exif=exif)
    loaded = load_image(tmp_path / "rot.jpg")
    assert (loaded.width, loaded.height) == (100, 200)
    assert loaded.exif.get("focal_35mm") == 28.0


@pytest.mark.parametrize("case, pattern", [
    ("zero", "empty"), ("text", "not an image"), ("corrupt", "corrupt|truncated|could not be opened"),
    ("grey", "greyscale"), ("sixteen", "16-bit"), ("eightk", "largest side"), ("missing", "does not exist"),
    ("tiny", "only"),
])
def test_bad_images_get_clear_errors(tmp_path, case, pattern):
    p = tmp_path / "bad.png"
    if case == "zero":
        p.write_bytes(b"")
    elif case == "text":
        p.write_text("hello, I am not a picture\n")
    elif case == "corrupt":
        Image.fromarray(_rgb()).save(p)
        p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2])
    elif case == "grey":
        Image.fromarray(_rgb()[..., 0]).save(p)
    elif case == "sixteen":
        Image.fromarray((np.arange(120 * 160).reshape(120, 160) * 3).astype(np.uint16)).save(p)
    elif case == "eightk":
        Image.new("RGB", (7680, 4320), (10, 20, 30)).save(p, compress_level=1)
    elif case == "tiny":
        Image.fromarray(_rgb(8, 8)).save(p)
    with pytest.raises(BadInputError, match=pattern) as exc:
        load_image(p)
    assert exc.value.fix.strip()  # every error says what to do


def test_sixteen_bit_rgb_png_is_refused(tmp_path):
    """PIL reads 48-bit PNGs as 8-bit RGB silently; the header check catches them (written with OpenCV)."""
    import cv2

    p = tmp_path / "deep.png"
    cv2.imwrite(str(p), (np.random.default_rng(0).integers(0, 65535, (120, 160, 3))).astype(np.uint16))
    with pytest.raises(BadInputError, match="16-bit"):
        load_image(p)


def test_depth_npy_png_and_resizing(tmp_path):
    """The product's depth reader (depth_io.read_depth): metres .npy, millimetres PNG, nearest resizing."""
    d = np.linspace(1, 4, 120 * 160, dtype=np.float32).reshape(120, 160)
    np.save(tmp_path / "d.npy", d)
    metres, report = read_depth(tmp_path / "d.npy", 160, 120, clean=False)
    assert np.allclose(metres, d) and report.units_assumed == "metres"
    mm = (d * 1000).astype(np.uint16)
    mm[0, 0] = 0
    Image.fromarray(mm).save(tmp_path / "d.png")
    loaded, report = read_depth(tmp_path / "d.png", 160, 120, clean=False)
    assert report.units_assumed == "millimetres"
    assert np.isnan(loaded[0, 0]) and loaded[5, 5] == pytest.approx(d[5, 5], abs=1e-3)
    half, _ = read_depth(tmp_path / "d.npy", 320, 240, clean=False)  # same aspect, twice the size: nearest
    assert half.shape == (240, 320) and half[1, 1] == pytest.approx(d[0, 0])


@pytest.mark.parametrize("case, pattern", [("mm_npy", "neither metres"), ("eight_bit", "16-bit"),
                                           ("aspect", "but the image"), ("allzero", "no positive"),
                                           ("rgb", "shape")])
def test_bad_depth_maps(tmp_path, case, pattern):
    p = tmp_path / ("d.png" if case == "eight_bit" else "d.npy")
    if case == "mm_npy":
        np.save(p, np.full((120, 160), 2500000.0, np.float32))  # neither metres nor millimetres
    elif case == "eight_bit":
        Image.fromarray(np.full((120, 160), 20, np.uint8)).save(p)
    elif case == "aspect":
        np.save(p, np.ones((100, 100), np.float32))
    elif case == "allzero":
        np.save(p, np.zeros((120, 160), np.float32))
    elif case == "rgb":
        np.save(p, np.ones((120, 160, 3), np.float32))
    with pytest.raises(BadInputError, match=pattern):
        read_depth(p, 160, 120)
