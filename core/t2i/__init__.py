"""Text → image: FLUX.1-dev with the Imaginarium LoRA (the paper's first stage).

Modules, one job each: ``options`` (a request, validated), ``loading`` (the pipeline from a folder or
hub id), ``lora`` (both LoRA formats, verified and fused), ``memory`` (GPU / offload modes chosen from
free memory), ``speed`` (fused QKV, FP8 storage, regional compile), ``engine`` (a warm pipeline and the
generation loop, PNG metadata), ``worker_op`` (the ``generate_images`` worker op), ``random_build``
(the same architecture with random weights, for tests and the benchmark). torch and diffusers are
imported inside functions, so importing this package is cheap.
"""
