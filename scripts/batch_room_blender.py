"""Blender child of ``python -m core batch rooms``: build one solved layout, save it, render its passes.

argv: LAYOUT_JSON LIBRARY_DIR OUT_DIR NAME [--width W] [--height H] [--samples N] [--threads T]

Writes ``OUT_DIR/NAME.blend`` and ``OUT_DIR/passes/`` (``rgb.png``, ``depth.npy``, ``masks/*.png``, as
``render_passes`` writes them) and prints one JSON line: the ids of the objects it built. The dataset
images are composed from the passes outside Blender (``core/batch/room_files.py``). Errors print
``{"error", "fix"}`` and exit 2.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from scripts._package import load as _load_package  # noqa: E402

_load_package()  # the repository as package `imaginarium`: the add-on's relative imports need it


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("layout")
    p.add_argument("library")
    p.add_argument("out")
    p.add_argument("name")
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=480)
    p.add_argument("--samples", type=int, default=16)
    p.add_argument("--threads", type=int, default=1, help="Cycles threads: the CPUs the task reserved")
    args = p.parse_args(argv)
    sys.stdout.flush()
    answer = os.fdopen(os.dup(1), "w")  # Blender prints render lines on fd 1; our answer stays one clean line
    os.dup2(2, 1)
    import bpy

    from imaginarium.core.errors import ImaginariumError
    from imaginarium.core.library.catalogue import load_catalogue
    from imaginarium.core.library.textures import load_textures
    from imaginarium.core.schema import Layout
    from imaginarium.imaginarium_addon.render_passes import render_passes
    from imaginarium.imaginarium_addon.scene_builder import build_layout

    try:
        layout = Layout.load(args.layout)
        if layout.camera is None:
            raise ImaginariumError(f"{args.layout} has no camera to render from.", "Solve the room from a photo or "
                                   "a generator, which both give a camera.")
        cam = layout.camera
        sx, sy = args.width / cam.width, args.height / cam.height
        layout.camera = type(cam)(cam.fx * sx, cam.fy * sy, cam.cx * sx, cam.cy * sy, args.width, args.height,
                                  cam.world_from_camera)
        catalogue = load_catalogue(args.library)
        try:
            textures = load_textures(args.library)
        except ImaginariumError:
            textures = None
        bpy.ops.wm.read_homefile(use_empty=True)
        coll = build_layout(layout, catalogue, run_id=args.name, textures=textures)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        render_passes(coll, out / "passes", samples=args.samples, threads=max(1, args.threads))
        bpy.ops.wm.save_as_mainfile(filepath=str(out / f"{args.name}.blend"), compress=True)
    except ImaginariumError as exc:
        print(json.dumps({"error": exc.message, "fix": exc.fix}), file=answer, flush=True)
        return 2
    built = sorted(str(o["imaginarium_object_id"]) for o in coll.all_objects if o.get("imaginarium_object_id"))
    print(json.dumps({"blend": f"{args.name}.blend", "objects": built}), file=answer, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]))
