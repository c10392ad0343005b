"""The bad-input battery (issue #11): every bad input ends in one typed error, never a traceback,
and a good run folder survives every failed rerun byte for byte.

Each case runs the real command line (``python -m core …``, cwd = repository root) against a
copy of a good run folder made by the same command line. Read-only cases need permissions to
bite: as root (which ignores them) the command runs without the capabilities that override them.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import ROOT
from tests.perception.scenes import write_scene

IS_ROOT = os.geteuid() == 0
_DROP_CAPS = "-dac_override,-dac_read_search"


def cli(*args: object, unprivileged: bool = False) -> subprocess.CompletedProcess:
    """``python -m core ARGS``; ``unprivileged`` makes file permissions bite even when the tests run as root."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("ANTHROPIC_API_KEY", "DDS_API_TOKEN", "IMAGINARIUM_CONFIG", "PYTHONPATH")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    argv = [sys.executable, "-m", "core", *map(str, args)]
    if unprivileged and IS_ROOT:
        # Root keeps its uid (the interpreter may live under /root) but loses the capabilities that
        # override file permissions, so a 0555 folder is read-only to it as to any user.
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: cannot make a folder read-only")
        argv = ["setpriv", f"--bounding-set={_DROP_CAPS}", *argv]
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)


def snapshot(folder: Path) -> dict[str, str]:
    """Every entry under the folder (names of folders too, so a leftover staging folder shows) → content hash."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        out[rel] = "<dir>" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def bomb_png(path: Path, side: int = 20000) -> None:
    """A valid PNG header claiming side×side RGB pixels (a decompression bomb), a few bytes long."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def base():
    """Scene inputs, bad variants of them, and one good run folder."""
    root = Path(tempfile.mkdtemp(prefix="imaginarium-bad-inputs-"))
    root.chmod(0o755)
    scene = root / "scene"
    write_scene(scene)
    dets = json.loads((scene / "detections.json").read_text())
    bad = root / "bad"
    bad.mkdir()
    bomb_png(bad / "bomb.png")
    (bad / "a_folder.npy").mkdir()
    (bad / "a_folder.json").mkdir()
    (bad / "nested.json").write_text("[" * 100_000 + "]" * 100_000)
    (bad / "long_label.json").write_text(json.dumps([{**dets[0], "label": "a" * 400}]))
    (bad / "rle_size_h.json").write_text(json.dumps([{**dets[0], "mask": {**dets[0]["mask"], "size": [180]}}]))
    (bad / "rle_size_str.json").write_text(json.dumps([{**dets[0], "mask": {**dets[0]["mask"], "size": "180x240"}}]))
    (bad / "a_file.txt").write_text("not a folder")
    np.save(bad / "depth_bad_shape.npy", np.ones((10, 11), np.float32))
    one = np.full((180, 240), np.nan, np.float32)
    one[90, 120] = 2.0
    np.save(bad / "depth_one_pixel.npy", one)
    Image.fromarray(np.asarray(Image.open(scene / "image.png"))[:, ::-1].copy()).save(bad / "other_image.png")
    for p in (root, scene, bad):
        for q in [p, *p.rglob("*")]:
            q.chmod(0o755 if q.is_dir() else 0o644)
    good = root / "good"
    done = cli("perceive", scene / "image.png", "--depth", scene / "depth.npy", "--detections",
               scene / "detections.json", "--fov", 70, "--out", good)
    assert done.returncode == 0, done.stderr
    yield {"root": root, "scene": scene, "bad": bad, "good": good}
    for q in root.rglob("*"):
        if q.is_dir():
            q.chmod(0o755)
    shutil.rmtree(root, ignore_errors=True)


def _good_args(scene: Path) -> list[object]:
    return ["--depth", scene / "depth.npy", "--detections", scene / "detections.json", "--fov", 70]


# (id, command builder(scene, bad, run) -> argv, read-only run folder?, words the error line must hold)
CASES = [
    ("clean-with-mistyped-image", lambda s, b, r: ["perceive", s / "imgae.png", *_good_args(s), "--out", r,
                                                   "--clean"], False, "does not exist"),
    ("decompression-bomb-png", lambda s, b, r: ["perceive", b / "bomb.png", "--out", r, "--clean"], False,
     "too large"),
    ("depth-missing", lambda s, b, r: ["perceive", s / "image.png", "--depth", b / "nope.npy", "--detections",
                                       s / "detections.json", "--out", r], False, "does not exist"),
    ("depth-is-a-folder", lambda s, b, r: ["perceive", s / "image.png", "--depth", b / "a_folder.npy",
                                           "--detections", s / "detections.json", "--out", r], False, "folder"),
    ("detections-missing", lambda s, b, r: ["perceive", s / "image.png", "--depth", s / "depth.npy",
                                            "--detections", b / "nope.json", "--out", r], False, "does not exist"),
    ("detections-is-a-folder", lambda s, b, r: ["perceive", s / "image.png", "--depth", s / "depth.npy",
                                                "--detections", b / "a_folder.json", "--out", r], False, "folder"),
    ("detections-nested-too-deep", lambda s, b, r: ["perceive", s / "image.png", "--depth", s / "depth.npy",
                                                    "--detections", b / "nested.json", "--out", r], False, "nested"),
    ("label-400-characters", lambda s, b, r: ["perceive", s / "image.png", "--depth", s / "depth.npy",
                                              "--detections", b / "long_label.json", "--out", r], False, "label"),
    ("rle-size-is-[h]", lambda s, b, r: ["perceive", s / "image.png", "--depth", s / "depth.npy", "--detections",
                                         b / "rle_size_h.json", "--out", r], False, "size"),
    ("rle-size-is-a-string", lambda s, b, r: ["perceive", s / "image.png", "--depth", s / "depth.npy",
                                              "--detections", b / "rle_size_str.json", "--out", r], False, "size"),
    ("out-is-a-file", lambda s, b, r: ["perceive", s / "image.png", *_good_args(s), "--out", b / "a_file.txt"],
     False, "is a file"),
    ("other-image-with-bad-depth", lambda s, b, r: ["perceive", b / "other_image.png", "--depth",
                                                    b / "depth_bad_shape.npy", "--detections", s / "detections.json",
                                                    "--out", r], False, "depth"),
    ("depth-with-one-valid-pixel", lambda s, b, r: ["perceive", s / "image.png", "--depth", b / "depth_one_pixel.npy",
                                                    "--detections", s / "detections.json", "--out", r], False,
     "depth"),
    ("read-only-run-rerun", lambda s, b, r: ["perceive", s / "image.png", "--depth", s / "depth.npy", "--detections",
                                             s / "detections_boxes.json", "--fov", 70, "--out", r], True, "read-only"),
    ("read-only-run-clean", lambda s, b, r: ["perceive", s / "image.png", *_good_args(s), "--out", r, "--clean"],
     True, "read-only"),
    ("read-only-parent-new-run", lambda s, b, r: ["perceive", s / "image.png", *_good_args(s), "--out",
                                                  r / "masks" / "new_run"], True, "read-only"),
    ("read-only-run-match", lambda s, b, r: ["match", r, "--library", b / "no_library"], True, "read-only"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_fails_with_one_typed_error_and_the_good_run_survives(base, case, tmp_path):
    name, argv, read_only, words = case
    run = base["root"] / f"run-{name}"
    shutil.copytree(base["good"], run)
    for q in [run, *run.rglob("*")]:
        q.chmod((0o555 if q.is_dir() else 0o444) if read_only else (0o755 if q.is_dir() else 0o644))
    before = snapshot(run)
    a_file = base["bad"] / "a_file.txt"
    a_file_before = a_file.read_bytes()
    try:
        done = cli(*argv(base["scene"], base["bad"], run), unprivileged=read_only)
    finally:
        for q in [run, *run.rglob("*")]:
            if q.is_dir():
                q.chmod(0o755)
    lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    assert len(lines) == 2 and lines[0].startswith("error: ") and lines[1].startswith("fix: "), done.stderr[-2000:]
    assert words in lines[0].lower(), lines[0]
    assert snapshot(run) == before, "the good run folder changed"
    assert a_file.read_bytes() == a_file_before
    print(f"{name}: {lines[0]} | {lines[1]}")


def test_match_refuses_a_mixed_run_folder(base):
    """A perceive file replaced behind stages.json's back (what a half-done rerun used to leave) stops match."""
    run = base["root"] / "run-mixed"
    shutil.copytree(base["good"], run)
    np.save(run / "depth.npy", np.load(run / "depth.npy") * 1.5)
    before = snapshot(run)
    done = cli("match", run, "--library", base["bad"] / "no_library")
    lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert lines[0].startswith("error: ") and "inconsistent" in lines[0] and "depth.npy" in lines[0], lines
    assert snapshot(run) == before


def test_cached_rerun_reads_a_read_only_run_without_writing(base):
    """Nothing to recompute means nothing to write: a read-only good run is still usable."""
    run = base["root"] / "run-read-only-cached"
    shutil.copytree(base["good"], run)
    for q in [run, *run.rglob("*")]:
        q.chmod(0o555 if q.is_dir() else 0o444)
    before = snapshot(run)
    try:
        done = cli("perceive", base["scene"] / "image.png", *_good_args(base["scene"]), "--out", run,
                   unprivileged=True)
    finally:
        for q in [run, *run.rglob("*")]:
            if q.is_dir():
                q.chmod(0o755)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "6 objects" in done.stdout
    assert snapshot(run) == before
