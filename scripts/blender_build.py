"""Child of ``python -m core build``: build a run folder's layout.json in a fresh Blender, save it, maybe render.

Runs under Blender's Python (the bpy wheel or ``blender -b --python``); arguments after ``--``.
Prints one line ``IMAGINARIUM_BUILD_RESULT {json}``: the result, or ``{"error": {kind, message, fix}}``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _package  # noqa: E402

PREFIX = "IMAGINARIUM_BUILD_RESULT "


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="blender_build.py")
    p.add_argument("--run", required=True)
    p.add_argument("--library", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--render", default=None)
    p.add_argument("--width", type=int, default=320)
    p.add_argument("--samples", type=int, default=16)
    p.add_argument("--no-fit", action="store_true")
    return p.parse_args(argv)


def build(args: argparse.Namespace) -> dict:
    import bpy

    _package.load()
    from imaginarium.core.errors import LibraryError
    from imaginarium.core.library.catalogue import load_catalogue
    from imaginarium.core.library.textures import load_textures, texture_notes
    from imaginarium.core.schema import CandidateSet, Layout, Observation
    from imaginarium.imaginarium_addon import layout_session, lights, render_preview
    from imaginarium.imaginarium_addon.scene_builder import build_layout

    run, library = Path(args.run), Path(args.library)
    bpy.ops.wm.read_homefile(use_empty=True)
    layout = Layout.load(run / "layout.json")
    try:
        catalogue = load_catalogue(library)
    except LibraryError as exc:  # the same problem, with the fix in command-line words
        raise LibraryError(exc.message, "Pass --library with a folder that holds imaginarium_asset_info.csv "
                                        "(`make library` builds the starter library).") from None
    notes: list[str] = []
    try:
        textures = load_textures(library)
        notes += texture_notes(textures)
    except LibraryError as exc:
        textures = None
        notes.append(f"textures: {exc.message} Flat colours are used.")
    candidates = CandidateSet.load(run / "candidates.json") if (run / "candidates.json").is_file() else None
    image = None
    if (run / "observation.json").is_file():
        image = Observation.load(run / "observation.json").image_path
    started, cpu = time.perf_counter(), time.process_time()
    coll = build_layout(layout, catalogue, run_dir=run, reference_image=image, candidates=candidates,
                        textures=textures, fit_exposure=False if args.no_fit else None, notes=notes)
    coll[layout_session.RUN_DIR], coll[layout_session.LIBRARY_DIR] = str(run.resolve()), str(library.resolve())
    result: dict = {"blend": args.out, "collection": coll.name, "run_id": str(coll["imaginarium_run_id"]),
                    "build_s": round(time.perf_counter() - started, 3),
                    "build_cpu_s": round(time.process_time() - cpu, 3),
                    "reference_image": coll.get(render_preview.REFERENCE)}
    light_coll = lights.lights_collection(coll)
    result["lights"] = lights.lamp_summary(light_coll) if light_coll is not None else []
    result["exposure_scale"] = float(light_coll.get(lights.EXPOSURE, 1.0)) if light_coll is not None else None
    if args.render:
        cpu = time.process_time()
        preview = render_preview.render_preview(coll, args.render, width=args.width, samples=args.samples)
        result.update(render=str(preview.render_path), side_by_side=str(preview.side_by_side_path),
                      render_s=round(preview.seconds, 3), render_cpu_s=round(time.process_time() - cpu, 3), median_render=preview.median_render,
                      median_photo=preview.median_photo, median_ratio=preview.ratio,
                      size=[preview.width, preview.height], samples=preview.samples)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    bpy.ops.wm.save_as_mainfile(filepath=str(Path(args.out).resolve()))
    result["notes"] = notes
    return result


def main() -> int:
    argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]
    args = parse(argv)
    try:
        result = build(args)
    except Exception as exc:  # noqa: BLE001 - every failure goes back to the parent as one typed line
        _package.load()
        from imaginarium.core.errors import ImaginariumError

        if isinstance(exc, ImaginariumError):
            error = exc.to_dict()
        else:
            error = {"kind": "ImaginariumError", "message": f"The build failed: {type(exc).__name__}: {exc}",
                     "fix": "Check the run folder's layout.json and the library; report this with the run folder."}
        print(PREFIX + json.dumps({"error": error}), flush=True)
        return 2
    print(PREFIX + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    import os

    os._exit(code)  # bpy's atexit may print; the result line is already out
