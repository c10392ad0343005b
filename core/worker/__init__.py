"""The worker process: ``python -m core.worker`` runs models outside Blender.

It speaks JSON lines on stdin/stdout (see :mod:`core.worker.protocol`). Jobs run one at a
time on a job thread so models stay warm and GPU memory is not shared between jobs; a
reader thread keeps listening, so ``cancel`` arrives while a job runs and is honoured at
the job's next step. Logging goes to stderr only: stdout carries nothing but events.
"""
