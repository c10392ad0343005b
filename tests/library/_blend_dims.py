"""bpy helper for the tests: open every .blend of a library and report its objects and mesh sizes.

argv: LIBRARY_DIR. Prints one JSON object {name_en: {"objects": [...], "dims": [x, y, z],
"bottom_centre": [x, y, zmin], "materials": [...]}} on its last line.
"""
import json
import sys
from pathlib import Path

import bpy
import numpy as np

out = {}
for path in sorted((Path(sys.argv[-1]) / "imaginarium_assets").glob("*.blend")):
    bpy.ops.wm.read_homefile(use_empty=True)
    with bpy.data.libraries.load(str(path), link=False) as (src, dst):
        dst.objects = list(src.objects)
    co = []
    mats = []
    for obj in dst.objects:
        c = np.empty(len(obj.data.vertices) * 3)
        obj.data.vertices.foreach_get("co", c)
        m = np.array(obj.matrix_world)
        co.append(c.reshape(-1, 3) @ m[:3, :3].T + m[:3, 3])
        mats += [mt.name for mt in obj.data.materials]
    co = np.concatenate(co)
    lo, hi = co.min(0), co.max(0)
    out[path.stem] = {"objects": [o.name for o in dst.objects], "dims": (hi - lo).tolist(),
                      "bottom_centre": [(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, lo[2]], "materials": mats}
print(json.dumps(out))
