"""Test and benchmark helpers: fixture library, tiny random models, synthetic scenes, test-only worker ops.

Kept outside ``core`` and out of the extension's zip (``blender_manifest.toml`` excludes this folder).
"""
