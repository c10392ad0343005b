"""Which supports make sense for which objects, read from ``core/library/data/support_rules.json``.

Geometry alone puts a monitor "on" an office chair whose backrest reaches the monitor's bottom,
or a dresser "on" a bed that hides its lower half. Knowing what things are settles those
cases: every label resolves to a *kind* (bed, seat, surface, tall storage, fixture, screen,
small, soft, wall item, ceiling item, flat floor covering, or unknown), and the data file says
how plausible each supporting kind is. Floor-only kinds (beds, seats, tables, storage…) always
stand on the floor. Kept as data so a library with other classes can extend it without code.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..library.priors import normalise, singular
from ..schema import is_structure_id

RULES_PATH = Path(__file__).resolve().parent.parent / "library" / "data" / "support_rules.json"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class SupportRules:
    """Word → kind, the floor-only kinds, and per kind the plausibility of each supporting kind."""

    kinds: dict[str, str]
    floor_only: frozenset[str]
    rests_on: dict[str, dict[str, float]]

    def kind(self, label: str | None) -> str:
        """The kind of a label: the whole label, its singular, then shorter endings ("office chair" → seat)."""
        words = normalise(label or "").split()
        if not words:
            return UNKNOWN
        for n in range(len(words), 0, -1):
            for tail in (" ".join(words[-n:]), " ".join(words[-n:-1] + [singular(words[-1])])):
                if tail in self.kinds:
                    return self.kinds[tail]
        return UNKNOWN

    def stands_on_floor(self, label: str | None) -> bool:
        """Beds, seats, tables, storage, fixtures and rugs: on the floor, never hung, never on an object."""
        return self.kind(label) in self.floor_only

    def plausibility(self, label: str | None, support: str, support_label: str | None = None) -> float:
        """How plausible it is that ``label`` rests on / hangs from ``support`` (0–1).

        ``support`` is ``floor``, ``ceiling``, ``wall_<n>`` or an object id (then ``support_label``
        names what that object is).
        """
        kind = self.kind(label)
        if support == "floor":
            target = "floor"
        elif support == "ceiling":
            target = "ceiling"
        elif is_structure_id(support):
            target = "wall"
        else:
            target = self.kind(support_label)
            if target == "flat_floor":  # a rug is the floor for this purpose
                target = "floor"
        if kind in self.floor_only:
            return 1.0 if target == "floor" else 0.0
        table = self.rests_on.get(kind) or self.rests_on.get(UNKNOWN, {})
        if target in table:
            return float(table[target])
        return float(table.get(UNKNOWN, 0.3 if target not in ("wall", "ceiling") else 0.0))

    def may_hang(self, label: str | None, where: str) -> bool:
        """May this object hang on a wall (``where="wall"``) or from the ceiling?"""
        return self.plausibility(label, "ceiling" if where == "ceiling" else "wall_0") > 0.15


@lru_cache(maxsize=4)
def load_rules(path: str | None = None) -> SupportRules:
    """The shipped rules (or another file of the same form); a missing file gives rules that allow everything."""
    source = Path(path) if path else RULES_PATH
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return SupportRules({}, frozenset(), {})
    kinds = {normalise(w): kind for kind, words in (data.get("kinds") or {}).items() for w in words}
    return SupportRules(kinds, frozenset(data.get("floor_only") or ()),
                        {k: {kk: float(vv) for kk, vv in v.items()} for k, v in (data.get("rests_on") or {}).items()})
