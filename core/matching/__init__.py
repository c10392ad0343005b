"""Matching (issue 5): retrieve library assets for observed objects, estimate their yaw, pick textures.

Entry point: :func:`core.matching.pipeline.match` (worker op ``match`` in ``ops.py``, CLI
``python -m core match``). Modules: ``crops`` (masked square crops), ``embedders`` (the
Embedder protocol and its choice), ``dinov2`` / ``classical`` (the two embedders), ``index``
(template features as arrays), ``scoring`` (score terms), ``retrieval`` (ranking, groups),
``pose`` (template yaw + box fusion), ``textures`` / ``texture_vlm`` (background textures by
colour or by Claude), ``embed_library`` (template embeddings into the store), ``observed``
(run-folder reading), ``store_access`` (the calls into core.library). Importing the package
loads nothing heavy: torch and OpenCV are imported where they run.
"""
