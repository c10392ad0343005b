"""Generate the starter asset library in the published Imaginarium layout (runs under bpy).

    .venv/bin/python scripts/make_starter_library.py --out asset_data/starter_library --seed 0

Writes ``imaginarium_asset_info.csv`` (published format), ``imaginarium_assets/<name>.blend``
(one object and one collection per asset: origin at the bottom centre, front −Y, metres),
``imaginarium_assets_internal_placement_space/<name>.json`` for shelves, and
``background_texture_dataset/{floor,wall,ceiling}/*.png`` with ``texture_captions.json``.
Deterministic from ``--seed`` (sizes and colours get a small seeded jitter). ``--only``
makes a subset (the test fixture). Our own designs, built from primitives with bmesh.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from scripts._package import load as _load_package  # noqa: E402
_load_package()  # the repository as package `imaginarium`: one import identity with the add-on

import bpy  # noqa: E402
import numpy as np  # noqa: E402
from _library_progress import progress as tqdm  # noqa: E402  (tqdm, or plain lines inside Blender)

import _library_specs as specs  # noqa: E402
import _library_textures as textures  # noqa: E402
from _library_furniture import BUILDERS, shelf_levels  # noqa: E402
from _library_shapes import MeshBuilder, dimensions  # noqa: E402
from imaginarium.core.library.catalogue import ASSETS_DIR, CSV_NAME, INNER_DIR  # noqa: E402
from imaginarium.core.library.csvformat import format_bbx, write_catalogue  # noqa: E402
from imaginarium.core.library.textures import CAPTIONS_NAME, TEXTURE_DIR  # noqa: E402


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="asset_data/starter_library", help="Library folder to write.")
    p.add_argument("--seed", type=int, default=0, help="Seed for size and colour jitter.")
    p.add_argument("--only", default="", help="Comma-separated asset names (a subset), or 'fixture'.")
    p.add_argument("--no-textures", action="store_true", help="Skip the background textures.")
    return p.parse_args(argv)


def _rng(seed: int, name: str) -> random.Random:
    return random.Random(seed * 1_000_003 + zlib.crc32(name.encode()))


def build_asset(spec: dict, seed: int, out_dir: Path) -> tuple[tuple[float, float, float], dict]:
    """Build, save and unload one asset; returns its measured size and its jittered params."""
    rng = _rng(seed, spec["name"])
    jitter = [1.0 + rng.uniform(-0.02, 0.02) for _ in range(3)]
    w, d, h = (s * j for s, j in zip(spec["size"], jitter))
    mats = {}
    for part, colour in spec["mats"].items():
        rgb, rough, metal = specs.PALETTE[colour]
        mats[part] = (tuple(min(1.0, c * (1.0 + rng.uniform(-0.04, 0.04))) for c in rgb), rough, metal)
    params = dict(spec["params"], w=w, d=d, h=h, mats=mats, rng=rng)
    builder = MeshBuilder(spec["name"])
    BUILDERS[spec["builder"]](builder, params)
    coll = bpy.data.collections.new(spec["name"])
    obj = builder.finish(coll)
    obj["imaginarium_asset"] = spec["name"]
    size = dimensions(obj)
    for want, got in zip((w, d, h), size):
        if want > 0 and abs(got - want) / want > 0.1:
            print(f"note: {spec['name']} measures {size}, designed {(w, d, h)}", file=sys.stderr)
    bpy.data.libraries.write(str(out_dir / f"{spec['name']}.blend"), {coll, obj}, fake_user=True)
    mesh, materials = obj.data, list(obj.data.materials)
    bpy.data.objects.remove(obj)
    bpy.data.meshes.remove(mesh)
    for m in materials:
        bpy.data.materials.remove(m)
    bpy.data.collections.remove(coll)
    return size, params


def inner_spaces(params: dict, size: tuple[float, float, float]) -> list[dict]:
    """One placement space per shelf: bottom centre on the board's top face, size as fractions."""
    levels = shelf_levels(params)
    tops = levels[1:] + [params["h"]]
    t, back = 0.02, 0.01
    space_w, space_d = params["w"] - 2 * t, params["d"] - back - 0.01
    y_centre = -back / 2
    out = []
    for k, (z0, z1) in enumerate(zip(levels, tops)):
        height = (z1 - t) - z0
        out.append({"name": f"shelf_{k}",
                    "transform_matrix": [[1, 0, 0, 0], [0, 1, 0, round(y_centre, 5)], [0, 0, 1, round(z0, 5)],
                                         [0, 0, 0, 1]],
                    "scale_ratio": [round(space_w / size[0], 5), round(space_d / size[1], 5),
                                    round(height / size[2], 5)]})
    return out


def catalogue_row(index: int, spec: dict, size: tuple[float, float, float], has_inner: bool) -> dict:
    return {"id": str(index), "name_en": spec["name"], "bbx": format_bbx(size),
            "caption_cn": f"{spec['class_cn']}（程序生成的入门资产）", "caption_en": spec["caption"],
            "class_cn": spec["class_cn"], "class_en": spec["class_en"], "retrieval_class_cn": spec["retrieval_cn"],
            "retrieval_class_en": spec["retrieval_en"], "picture": "", "scaling_strategy": spec["strategy"],
            "inner_placement": "1" if has_inner else "0", "portfolio_assets": "", "source": "imaginarium-for-blender",
            "author_name": "Imaginarium for Blender starter library", "author_link": "", "license": "CC0-1.0",
            "state": "", "alignToWallNormal": "1" if spec["align"] else "0"}


TILE_M = {"floor": 1.2, "wall": 2.0, "ceiling": 2.0}      # metres per repeat of each generated set
ROUGHNESS = {"floor": 0.55, "wall": 0.9, "ceiling": 0.9}  # base roughness the derived maps vary around


def _save_png(path: Path, rgb: np.ndarray) -> None:
    """An RGB float image (0..1, rows top-down) as an 8-bit PNG, through Blender's image writer."""
    path.parent.mkdir(parents=True, exist_ok=True)
    img = bpy.data.images.new(path.stem, rgb.shape[1], rgb.shape[0], alpha=False)
    rgba = np.concatenate([rgb, np.ones(rgb.shape[:2] + (1,))], axis=2)[::-1]  # Blender rows go bottom-up
    img.pixels.foreach_set(rgba.astype(np.float32).ravel())
    img.filepath_raw = str(path)
    img.file_format = "PNG"
    img.save()
    bpy.data.images.remove(img)


def write_textures(root: Path, seed: int) -> int:
    """Each texture set as colour + roughness + normal maps (derived from the colour), with its tile size."""
    from imaginarium.core.library.textures import derive_maps

    captions = {}
    for k, (kind, ident, caption, pattern, args) in enumerate(textures.TEXTURES):
        rgb = textures.make(pattern, seed * 101 + k, args)
        rel = f"{kind}/{ident}.png"
        _save_png(root / rel, rgb)
        maps = derive_maps(rgb, roughness=ROUGHNESS[kind])
        _save_png(root / kind / f"{ident}_roughness.png", np.repeat(maps["roughness"][..., None], 3, 2))
        _save_png(root / kind / f"{ident}_normal.png", maps["normal"])
        captions[rel] = {"id": ident, "kind": kind, "caption": caption, "tile_m": TILE_M[kind],
                         "mean_rgb": [round(float(c), 4) for c in rgb.reshape(-1, 3).mean(axis=0)]}
    (root / CAPTIONS_NAME).write_text(json.dumps(captions, indent=2), encoding="utf-8")
    return len(captions)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    out = Path(args.out)
    assets_dir, inner_dir = out / ASSETS_DIR, out / INNER_DIR
    assets_dir.mkdir(parents=True, exist_ok=True)
    inner_dir.mkdir(parents=True, exist_ok=True)
    wanted = specs.FIXTURE_NAMES if args.only == "fixture" else tuple(n for n in args.only.split(",") if n)
    chosen = [s for s in specs.ASSETS if not wanted or s["name"] in wanted]
    unknown = set(wanted) - {s["name"] for s in chosen}
    if unknown:
        print(f"error: unknown asset name(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    bpy.ops.wm.read_homefile(use_empty=True)
    rows = []
    for index, spec in enumerate(tqdm(chosen, desc="starter assets", unit="asset", file=sys.stderr), start=1):
        size, params = build_asset(spec, args.seed, assets_dir)
        spaces = inner_spaces(params, size) if spec["builder"] == "bookshelf" else []
        if spaces:
            (inner_dir / f"{spec['name']}.json").write_text(json.dumps(spaces, indent=1), encoding="utf-8")
        rows.append(catalogue_row(index, spec, size, bool(spaces)))
    write_catalogue(out / CSV_NAME, rows)
    n_tex = 0 if args.no_textures else write_textures(out / TEXTURE_DIR, args.seed)
    print(json.dumps({"library": str(out), "assets": len(rows), "classes": len({s["class_en"] for s in chosen}),
                      "textures": n_tex, "seconds": round(time.perf_counter() - started, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]))  # blender -b -P … -- args
