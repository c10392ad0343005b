"""How well labels map to a catalogue's classes: coverage figures as JSON on stdout.

    .venv/bin/python scripts/bench_vocabulary.py [CATALOGUE_CSV] [--text-model DIR]

Default catalogue: the published Imaginarium CSV (``/work/shared/reference`` or
``asset_data/imaginarium_asset_info.csv``). Three figures:

* ``default_labels``: the detector's default labels (``core.perception.prompts.DEFAULT_LABELS``)
  that map to a sensible retrieval class;
* ``everyday``: 100 everyday indoor object words written by hand, each with the retrieval
  classes a person would accept for it in the published catalogue (the expected answers below
  are our judgement, written before looking at the mapper's output);
* ``catalogue_classes``: the catalogue's own class names (and their plural forms) mapping back
  to themselves — the vocabulary must know every name of its own library.

The old fixed label table (``category_map.json``) knew 14 of the 38 default labels and 264 of the
497 class names of the published catalogue; these figures are its replacement's.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Label → retrieval classes of the published catalogue that count as a sensible answer.
SOFA, STORE, TABLE, LIGHT = "Stool_chair_or_sofa", "Storage_locker_rack", "Table", "Lighting_equipment"
DEFAULT_EXPECTED: dict[str, set[str]] = {
    "bed": {"Bed"}, "sofa": {SOFA}, "armchair": {SOFA}, "chair": {SOFA}, "office chair": {SOFA}, "stool": {SOFA},
    "table": {TABLE, "Conference_table"}, "dining table": {TABLE}, "coffee table": {TABLE}, "desk": {TABLE},
    "nightstand": {STORE}, "cabinet": {STORE, "Kitchen_equipment"}, "wardrobe": {STORE}, "bookshelf": {STORE},
    "shelf": {STORE, "File_storage_container"}, "tv stand": {STORE}, "tv": {"Television_set", "Display_screen"},
    "dresser": {STORE, "Vanity_table"}, "lamp": {LIGHT}, "floor lamp": {LIGHT}, "ceiling lamp": {LIGHT},
    "chandelier": {LIGHT}, "plant": {"Plant"}, "vase": {"Art_ornament"}, "painting": {"Picture_frame"},
    "mirror": {"Mirror"}, "clock": {"Wall_decoration", "Alarm_clock"}, "curtain": {"Curtain"},
    "rug": {"Carpet"}, "carpet": {"Carpet"}, "pillow": {"Bedding"}, "book": {"Book"}, "bench": {SOFA},
    "refrigerator": {"Refrigerator"}, "sink": {"Washbasin"}, "toilet": {"Toilet"}, "bathtub": {"Bathtub"},
    "washing machine": {"Washing_machine"},
}
EVERYDAY_EXPECTED: dict[str, set[str]] = {
    "couch": {SOFA}, "loveseat": {SOFA}, "sectional sofa": {SOFA}, "recliner": {SOFA}, "ottoman": {SOFA},
    "bar stool": {SOFA}, "dining chair": {SOFA}, "rocking chair": {SOFA}, "folding chair": {SOFA},
    "gaming chair": {SOFA}, "king size bed": {"Bed"}, "bunk bed": {"Bed"}, "crib": {"Bed"},
    "mattress": {"Bedding", "Bed"}, "night stand": {STORE}, "bedside table": {STORE}, "end table": {TABLE, STORE},
    "side table": {TABLE}, "console table": {TABLE}, "kitchen table": {TABLE}, "writing desk": {TABLE},
    "computer desk": {TABLE}, "conference table": {"Conference_table", TABLE}, "vanity": {"Vanity_table"},
    "closet": {STORE}, "armoire": {STORE}, "chest of drawers": {STORE}, "cupboard": {STORE, "Kitchen_equipment"},
    "sideboard": {STORE}, "filing cabinet": {STORE}, "bookcase": {STORE}, "shoe rack": {STORE},
    "television": {"Television_set"}, "flat screen tv": {"Television_set"},
    "computer monitor": {"Computer_monitor", "Display_screen"}, "laptop": {"Computer"},
    "keyboard": {"Keyboard"}, "printer": {"Printer"}, "speaker": {"Speaker"}, "desk lamp": {LIGHT},
    "table lamp": {LIGHT}, "pendant light": {LIGHT}, "sconce": {LIGHT}, "ceiling fan": {"Ceiling_fan"},
    "area rug": {"Carpet"}, "doormat": {"Carpet"}, "drapes": {"Curtain"}, "window blind": {"Wooden_venetian_blind"},
    "houseplant": {"Plant"}, "potted plant": {"Plant"}, "flower pot": {"Plant"}, "picture frame": {"Picture_frame"},
    "poster": {"Picture_frame"}, "wall art": {"Picture_frame"}, "photo": {"Photograph", "Picture_frame"},
    "full length mirror": {"Mirror", "Standing_mirror"}, "wall clock": {"Wall_decoration"},
    "alarm clock": {"Alarm_clock"}, "throw pillow": {"Bedding"}, "cushion": {"Bedding"},
    "blanket": {"Stacked_towel", "Fabric", "Bedding"}, "towel": {"Stacked_towel", "Rolled_towel", "Rolled_towel_stack"},
    "books": {"Book"}, "magazine": {"Book"}, "wastebasket": {"Trash_bin", "Trash_can"},
    "trash can": {"Trash_bin", "Trash_can"}, "laundry basket": {"Clothes_basket"}, "cardboard box": {"Box"},
    "storage box": {"Box", "Small_storage_container"}, "suitcase": {"Bags_and_luggage"},
    "handbag": {"Bags_and_luggage"}, "fridge": {"Refrigerator"}, "microwave": {"Kitchen_equipment"},
    "oven": {"Oven", "Kitchen_equipment"}, "stove": {"Kitchen_equipment", "Gas_stove"},
    "kettle": {"Kettle"}, "coffee maker": {"Coffee_machine"}, "toaster": {"Toaster"},
    "kitchen cabinet": {"Kitchen_equipment"}, "bathroom sink": {"Washbasin"}, "faucet": {"Bathroom_faucet"},
    "shower": {"Shower_equipment"}, "toilet paper": {"Toilet_paper"}, "dryer": {"Dryer"},
    "vacuum cleaner": {"Vacuum_cleaner"}, "radiator": {"Radiator", "Heater"},
    "air conditioner": {"Air_conditioner"}, "piano": {"Musical_instrument"}, "guitar": {"Musical_instrument"},
    "sculpture": {"Art_ornament"}, "candle holder": {"Art_ornament"},
    "mug": {"Cup"}, "wine glass": {"Cup"}, "plate": {"Tableware"}, "bowl": {"Tableware"},
    "teapot": {"Teapot"}, "light switch": {"Switch"}, "window": {"Window"}, "door": {"door"},
    "whiteboard": {"Whiteboard"},
}
# Written after the synonym table, and none of them is a key of it: how the rules and the text
# similarity do on words nobody prepared for (the figure that says how well the mapper generalises).
HELD_OUT_EXPECTED: dict[str, set[str]] = {
    "chaise longue": {SOFA}, "dining bench": {SOFA}, "bar chair": {SOFA}, "leather armchair": {SOFA},
    "sofa bed": {SOFA, "Bed"}, "single bed frame": {"Bed"}, "tallboy": {STORE}, "display shelf": {STORE},
    "magazine rack": {STORE, "File_storage_container"}, "bar cart": {"Food_cart", "Medical_equipment", TABLE},
    "plant stand": {"Plant", "Display_stand", "Flower_pot"}, "umbrella stand": {STORE, "Bucket"}, "record player": {"Gramophone"},
    "headphones": {"Gaming_entertainment_device"}, "game controller": {"Gaming_entertainment_device"},
    "desk organizer": {"File_storage_container", "Pen_holder"}, "paper towel": {"Tissue_paper", "Paper"},
    "spice jar": {"Seasoning_bottle_or_jar"}, "led lamp": {LIGHT}, "nightlight": {LIGHT},
    "bath towel": {"Stacked_towel", "Rolled_towel", "Rolled_towel_stack"}, "table cloth": {"Fabric"},
    "wall sconce": {LIGHT}, "tv unit": {STORE}, "glass vase": {"Art_ornament"}, "wooden crate": {"Box"},
    "standing desk": {TABLE}, "microwave oven": {"Kitchen_equipment"}, "electric fan": {"Fan"},
    "storage basket": {"Clothes_basket", "Small_storage_container"},
}


def default_csv() -> Path:
    for p in (Path("/work/shared/reference/imaginarium_asset_info.csv"), ROOT / "asset_data" / "imaginarium_asset_info.csv"):
        if p.is_file():
            return p
    raise SystemExit("No catalogue CSV given and the published one was not found; pass its path.")


def score_list(vocab, expected: dict[str, set[str]]) -> dict:
    good, wrong = 0, {}
    for label, ok in expected.items():
        m = vocab.lookup(label)
        got = m.retrieval_class if m else None
        if got in ok:
            good += 1
        else:
            wrong[label] = {"got": None if m is None else m.to_dict() | {"via": m.via}, "expected": sorted(ok)}
    return {"labels": len(expected), "sensible": good, "fraction": round(good / max(len(expected), 1), 4),
            "misses": wrong}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", nargs="?", default=None)
    parser.add_argument("--text-model", default=None, help="A sentence-embedding or CLIP text model folder.")
    args = parser.parse_args()
    from scripts._package import load

    load()
    from imaginarium.core.library.text_match import load_text_encoder
    from imaginarium.core.library.text_match import words
    from imaginarium.core.library.vocabulary import Vocabulary
    from imaginarium.core.perception.prompts import DEFAULT_LABELS

    csv_path = Path(args.csv) if args.csv else default_csv()
    t0 = time.perf_counter()
    vocab = Vocabulary.from_csv(csv_path, similarity=load_text_encoder(args.text_model))
    build_s = time.perf_counter() - t0
    missing_default = sorted(set(DEFAULT_LABELS) - set(DEFAULT_EXPECTED))
    t0 = time.perf_counter()
    default = score_list(vocab, {k: DEFAULT_EXPECTED[k] for k in DEFAULT_LABELS if k in DEFAULT_EXPECTED})
    everyday = score_list(vocab, EVERYDAY_EXPECTED)
    held_out = score_list(vocab, HELD_OUT_EXPECTED)
    own = [c for c in vocab.classes()]
    back = sum(1 for c in own if (m := vocab.lookup(c)) and m.class_name == c)
    plural = sum(1 for c in own if (m := vocab.lookup(c + "s")) and m.retrieval_class == vocab.class_entry(c).retrieval_class)
    lookup_s = time.perf_counter() - t0
    mapped_any = sum(1 for c in own if vocab.lookup(" ".join(words(c)[-1:])) is not None)
    out = {
        "catalogue": str(csv_path), "classes": len(own), "retrieval_classes": len(vocab.retrieval_classes()),
        "similarity": vocab.similarity.name,
        "default_labels": default, "default_labels_without_expectation": missing_default,
        "everyday": everyday, "held_out": held_out,
        "catalogue_classes": {"map_to_themselves": back, "plural_form_same_retrieval_class": plural, "of": len(own)},
        "class_head_words_that_map": mapped_any,
        "seconds": {"build": round(build_s, 3), "all_lookups": round(lookup_s, 3)},
    }
    print(json.dumps(out, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
