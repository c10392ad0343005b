"""Imaginarium's pipeline: prompt → image → Observation → Candidates → Layout.

Importable without bpy. Heavy dependencies (torch, transformers, diffusers, SDK clients)
are imported lazily inside the functions that run models, so the Blender side can use
the schema, the catalogue and the layout solver with only numpy and mathutils.
"""

__version__ = "0.1.0"
