"""The models the product uses: where each comes from, whether it is on disk, downloading and converting it.

* :mod:`.registry` — each model's Hugging Face repository, revision, files and the setting that
  names its place under the weights folder;
* :mod:`.status` — installed / missing / incomplete and the size on disk, from file stats only
  (cheap enough for Blender to call while drawing preferences);
* :mod:`.download` — resumable download through ``huggingface_hub`` with progress and cancel;
* :mod:`.convert` — the published Imaginarium checkpoints (``dinov2_vitl14.pth``,
  ``depth_anything_v2_metric_hypersim_vitl.pth``) converted to transformers folders on first use;
* :mod:`.ops` — the worker ops ``download_model`` and ``verify_model``.

Nothing here imports torch or huggingface_hub at module level.
"""
