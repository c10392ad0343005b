"""Implausible intrinsics are refused with the value and its likely cause, before they give 0 m or 1e11 m boxes."""
from __future__ import annotations

import math

import pytest

from imaginarium.core.errors import BadInputError
from imaginarium.core.geometry.camera import Intrinsics, check_intrinsics, resolve_intrinsics

W, H = 730, 530


@pytest.mark.parametrize("k, pattern, cause", [
    ((1e30, 1e30, 365, 265), r"fx = 1e\+30 px .* above 10×", "full resolution"),
    ((1e-9, 1e-9, 365, 265), r"fx = 1e-09 px .* below 0\.1×", "millimetres instead of pixels"),
    ((30, 30, 365, 265), r"fx = 30 px", "millimetres instead of pixels"),  # a 30 mm lens given as pixels
    ((529.5, 529.5, 10000, -10000), r"principal point \(10000, -10000\) px .* outside the 730x530 image",
     "swapped"),
    ((529.5, 1400.0, 365, 265), r"fx = 529\.5 px and fy = 1400 px", "another resolution"),
    ((-529.5, 529.5, 365, 265), r"fx = -529\.5 px .* must be positive", None),
    ((math.nan, 529.5, 365, 265), r"fx = nan", None),
])
def test_implausible_given_intrinsics_are_refused_with_the_likely_cause(k, pattern, cause):
    with pytest.raises(BadInputError, match=pattern) as exc:
        resolve_intrinsics(W, H, intrinsics=k)
    if cause:
        assert cause in exc.value.message
    assert "--intrinsics" in exc.value.fix and "given" in exc.value.message


def test_real_cameras_pass_without_notes():
    for k, (w, h) in [((529.5, 529.5, 365.0, 265.0), (730, 530)), ((520.532, 520.7444, 277.9258, 215.115), (561, 427)),
                      ((1000, 1000, 1000, 750), (2000, 1500))]:
        assert check_intrinsics(resolve_intrinsics(w, h, intrinsics=k)) == []
    for fov in (40, 60, 90, 120):
        assert check_intrinsics(resolve_intrinsics(W, H, fov_deg=fov)) == []
    assert check_intrinsics(resolve_intrinsics(W, H)) == []  # the default lens


def test_field_of_view_outside_the_plausible_focal_range_is_refused():
    with pytest.raises(BadInputError, match=r"fov 3°.*above 10×"):
        resolve_intrinsics(W, H, fov_deg=3)
    with pytest.raises(BadInputError, match=r"below 0\.1×"):
        resolve_intrinsics(W, H, fov_deg=170)


def test_implausible_exif_falls_back_to_the_default_lens_and_says_so():
    k = resolve_intrinsics(4000, 3000, exif={"focal_35mm": 5000.0})
    assert k.source.startswith("default") and "EXIF" in k.source and "ignored" in k.source
    assert k.fx == pytest.approx(30 / 36 * 4000)
    assert resolve_intrinsics(4000, 3000, exif={"focal_35mm": 26.0}).source.startswith("EXIF")


def test_an_off_centre_principal_point_is_a_note():
    notes = check_intrinsics(Intrinsics(529.5, 529.5, 650.0, 265.0, W, H, "given"))
    assert len(notes) == 1 and "principal point" in notes[0]
    # (0.5, 0.5): a normalised principal point lies inside the image, so it is legal, but never unremarked
    assert check_intrinsics(Intrinsics(529.5, 529.5, 0.5, 0.5, W, H, "given")) != []
