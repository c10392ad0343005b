"""One worker of ``build_library.py --workers N``: bakes its share of assets in one bpy session.

argv: LIBRARY_DIR STORE_DIR JOBS_JSON (a file with {"settings": {...}, "jobs": [[id, hash], ...]}).
Prints ``{"id", "hash", "error"}`` JSON lines on stdout as assets finish.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from scripts._package import load as _load_package  # noqa: E402
_load_package()  # the repository as package `imaginarium`: one import identity with the add-on

from imaginarium.core.library.bake_bpy import bake_many  # noqa: E402
from imaginarium.core.library.catalogue import load_catalogue  # noqa: E402


def main(argv: list[str]) -> int:
    library, store, jobs_file = argv
    spec = json.loads(Path(jobs_file).read_text(encoding="utf-8"))
    catalogue = load_catalogue(library)
    sys.stdout.flush()
    out = os.fdopen(os.dup(1), "w")  # Blender's per-render lines go to stderr; ours stay parseable
    os.dup2(2, 1)

    def done(asset_id: str, digest: str, error: str | None) -> None:
        print(json.dumps({"id": asset_id, "hash": digest, "error": error}), file=out, flush=True)

    bake_many(catalogue, [tuple(j) for j in spec["jobs"]], Path(store), spec["settings"], done)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
