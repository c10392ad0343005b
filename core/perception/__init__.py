"""Image → Observation: camera, metric depth, room planes, detections with masks, scene graph.

Backends sit behind small Protocols (:mod:`.protocols`) so each can be swapped or fed from a
file: depth (Depth Anything V2 through transformers, or the user's own depth map), detection
(DINO-X / Grounding DINO 1.5 in the cloud, local Grounding DINO, or the user's own JSON) and
the VLM (Claude). :func:`.pipeline.perceive` wires them together with a run-folder cache.
Nothing here imports torch, transformers or an API SDK at module import time.
"""
