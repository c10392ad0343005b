"""Layout stage: scene graph + candidates → Layout, solved with BVH collision queries.

``problem.build_problem`` → ``solver.solve`` → ``schema.Layout`` (with a world box and notes per
placement); ``solver.reoptimise`` re-solves after an artist's edits, given the layout before them;
``metrics.evaluate`` scores a layout; ``room_generator.generate_room`` makes seeded ground-truth
rooms. Solving never changes its problem. Only ``collision`` needs Blender's mathutils (loaded
lazily through ``mathutils_loader``), so this package imports anywhere.
"""
from __future__ import annotations

from .boxes_out import placement_box
from .problem import LayoutItem, LayoutProblem, build_problem, problem_from_layout
from .solver import reoptimise, solve

__all__ = ["LayoutItem", "LayoutProblem", "build_problem", "problem_from_layout", "solve", "reoptimise",
           "placement_box"]
