"""Studio scale: derived data for thousands of assets and rooms by the thousand, scheduled by Ray.

Ray only schedules; the work is the pipeline's own functions (``core.layout.room_generator``,
``core.pipeline``, the library's bake and embed steps) wrapped as tasks with their resources:
a Blender child per CPU task, models on GPU tasks. The driver is the only writer of the
feature store and of the output folders: tasks return bytes and arrays, the driver commits them
atomically, so a task that is killed or retried never leaves a half-written result behind.

Modules: ``cluster`` (start or join a Ray cluster), ``blender_child`` (run a bpy script in a
fresh Blender), ``room_spec`` (the JSON-lines room list), ``manifest`` (what is done, what
failed), ``room_tasks`` + ``rooms`` (batch rooms), ``room_files`` (depth view, segmentation,
box overlay), ``library_tasks`` + ``library_build`` (derived data on Ray).
"""
