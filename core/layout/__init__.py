"""Layout stage: scene graph + candidates → Layout, solved with BVH collision queries.

``problem.build_problem`` → ``solver.solve`` → ``schema.Layout``; ``solver.reoptimise`` re-solves
after an artist's edits; ``metrics.evaluate`` scores a layout; ``room_generator.generate_room``
makes seeded ground-truth rooms. Only ``collision`` needs Blender's mathutils (loaded lazily
through ``mathutils_loader``), so this package imports anywhere.
"""
from __future__ import annotations

from .problem import LayoutItem, LayoutProblem, build_problem, problem_from_layout
from .solver import reoptimise, solve

__all__ = ["LayoutItem", "LayoutProblem", "build_problem", "problem_from_layout", "solve", "reoptimise"]
