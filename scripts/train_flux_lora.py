#!/usr/bin/env python
"""Fine-tune a LoRA on FLUX.1-dev's transformer from a folder of images with captions.

Why: the paper's first stage works because the generated rooms look like the asset library.
Renders of rooms built from *your* library (e.g. by the demo's room generator), each with a
caption in ``<name>.txt`` beside ``<name>.png``, teach FLUX that look. The result is a diffusers
LoRA (``pytorch_lora_weights.safetensors``) that ``t2i.lora`` loads, plus sample images.

Method (rectified flow, as FLUX was trained): encode images with the VAE; draw σ from a
logit-normal; x_σ = (1-σ)·x + σ·ε; the transformer predicts ε - x; mean squared error. Prompts are
encoded once up front and the text encoders are then freed. accelerate handles bf16 mixed
precision and devices; gradient checkpointing keeps the 12B transformer's activations small.

    python scripts/train_flux_lora.py --model weights/FLUX.1-dev --data renders/ --output out/lora \\
        --rank 32 --alpha 32 --lr 1e-4 --steps 1000 --resolution 512
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from scripts._package import load as _load_package  # noqa: E402
_load_package()  # the repository as package `imaginarium`: one import identity with the add-on

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
TARGETS = ["to_q", "to_k", "to_v", "to_out.0"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="FLUX.1-dev diffusers folder (or hub id)")
    ap.add_argument("--data", required=True, help="folder of images, each with a same-named .txt caption")
    ap.add_argument("--output", required=True)
    ap.add_argument("--rank", type=int, default=32)
    ap.add_argument("--alpha", type=float, default=32.0)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--resolution", type=int, default=512, help="square training size, a multiple of 16")
    ap.add_argument("--batch-size", type=int, default=1)
    ap.add_argument("--grad-accum", type=int, default=1)
    ap.add_argument("--guidance", type=float, default=1.0, help="guidance value fed to the distilled embedder")
    ap.add_argument("--default-caption", default="", help="caption for images without a .txt file")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mixed-precision", default="auto", choices=("auto", "bf16", "fp16", "no"))
    ap.add_argument("--no-gradient-checkpointing", action="store_true")
    ap.add_argument("--sample-prompt", action="append", default=[], help="prompt for a sample image (repeatable)")
    ap.add_argument("--sample-steps", type=int, default=28)
    ap.add_argument("--max-sequence-length", type=int, default=512)
    args = ap.parse_args(argv)
    if args.resolution % 16 or args.resolution < 16:
        ap.error("--resolution must be a positive multiple of 16")
    if args.rank < 1 or args.steps < 1:
        ap.error("--rank and --steps must be at least 1")
    return args


def read_dataset(folder: Path, default_caption: str) -> list[tuple[Path, str]]:
    """(image, caption) pairs; a missing caption without --default-caption is an error, not a silent ''."""
    from imaginarium.core.errors import BadInputError

    if not folder.is_dir():
        raise BadInputError(f"Training data folder {folder} does not exist.", "Pass --data FOLDER with images.")
    items = []
    for image in sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        caption_file = image.with_suffix(".txt")
        caption = caption_file.read_text(encoding="utf-8").strip() if caption_file.is_file() else default_caption
        if not caption:
            raise BadInputError(f"{image.name} has no caption ({caption_file.name} is missing or empty).",
                                "Write a caption file beside each image, or pass --default-caption.")
        items.append((image, caption))
    if not items:
        raise BadInputError(f"No images ({', '.join(IMAGE_SUFFIXES)}) in {folder}.", "Put training renders there.")
    return items


def load_image(path: Path, size: int):
    """Resize the short side to ``size``, centre-crop, scale to [-1, 1] as a CHW tensor."""
    import numpy as np
    import torch
    from PIL import Image

    from imaginarium.core.errors import BadInputError

    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
    except OSError as exc:
        raise BadInputError(f"Cannot read training image {path}: {exc}.") from None
    scale = size / min(im.size)
    im = im.resize((max(size, round(im.width * scale)), max(size, round(im.height * scale))), Image.BICUBIC)
    left, top = (im.width - size) // 2, (im.height - size) // 2
    arr = np.asarray(im.crop((left, top, left + size, top + size)), dtype=np.float32) / 127.5 - 1.0
    return torch.from_numpy(arr).permute(2, 0, 1)


def main(argv: list[str] | None = None) -> int:
    import torch
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from diffusers import FluxPipeline
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict
    from tqdm.auto import tqdm

    from imaginarium.core.t2i.loading import resolve_model

    args = parse_args(argv)
    cuda = torch.cuda.is_available()
    if cuda:
        # Measured on an H100 with torch 2.11: the cuDNN attention kernel that SDPA picks fails in the
        # backward pass of FLUX ("mha_graph.execute ... is_good()"); flash attention trains fine.
        torch.backends.cuda.enable_cudnn_sdp(False)
    mp = args.mixed_precision
    if mp == "auto":
        mp = "bf16" if cuda and torch.cuda.is_bf16_supported() else "no"
    accelerator = Accelerator(mixed_precision=mp, gradient_accumulation_steps=args.grad_accum)
    set_seed(args.seed)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    items = read_dataset(Path(args.data), args.default_caption)
    weight_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(mp, torch.float32)
    device = accelerator.device

    source, local = resolve_model(args.model, None)
    pipe = FluxPipeline.from_pretrained(source, dtype=weight_dtype, local_files_only=local)
    vae, transformer = pipe.vae.to(device), pipe.transformer
    vae.requires_grad_(False)
    transformer.requires_grad_(False)

    # Encode every caption and image once; then the text encoders leave memory.
    pipe.text_encoder.to(device), pipe.text_encoder_2.to(device)
    cache = []
    with torch.no_grad():
        for image_path, caption in tqdm(items, desc="encoding", disable=not accelerator.is_main_process):
            prompt_embeds, pooled, text_ids = pipe.encode_prompt(caption, prompt_2=None, device=device,
                                                                 max_sequence_length=args.max_sequence_length)
            pixels = load_image(image_path, args.resolution).unsqueeze(0).to(device, weight_dtype)
            latents = vae.encode(pixels).latent_dist.sample()
            latents = (latents - vae.config.shift_factor) * vae.config.scaling_factor
            cache.append((latents.cpu(), prompt_embeds.cpu(), pooled.cpu(), text_ids.cpu()))
    pipe.text_encoder.to("cpu"), pipe.text_encoder_2.to("cpu")
    if cuda:
        torch.cuda.empty_cache()

    transformer.add_adapter(LoraConfig(r=args.rank, lora_alpha=args.alpha, init_lora_weights="gaussian",
                                       target_modules=TARGETS))
    if not args.no_gradient_checkpointing:
        transformer.enable_gradient_checkpointing()
    params = [p for p in transformer.parameters() if p.requires_grad]
    for p in params:  # trainable LoRA weights stay float32 for stable updates
        p.data = p.data.float()
    optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=1e-4)
    transformer, optimizer = accelerator.prepare(transformer, optimizer)
    transformer.train()
    vae_scale = 2 ** (len(vae.config.block_out_channels) - 1)
    gen = torch.Generator().manual_seed(args.seed)
    losses: list[float] = []
    step_s: list[float] = []
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    bar = tqdm(range(args.steps), desc="training", disable=not accelerator.is_main_process)
    for step in bar:
        started = time.perf_counter()
        with accelerator.accumulate(transformer):
            picks = torch.randint(len(cache), (args.batch_size,), generator=gen).tolist()
            x0 = torch.cat([cache[i][0] for i in picks]).to(device, weight_dtype)
            embeds = torch.cat([cache[i][1] for i in picks]).to(device, weight_dtype)
            pooled = torch.cat([cache[i][2] for i in picks]).to(device, weight_dtype)
            text_ids = cache[picks[0]][3].to(device, weight_dtype)
            b, c, h, w = x0.shape
            noise = torch.randn(x0.shape, generator=gen).to(device, weight_dtype)
            sigma = torch.sigmoid(torch.randn(b, generator=gen)).to(device)  # logit-normal σ
            s = sigma.view(b, 1, 1, 1).to(weight_dtype)
            noisy = (1 - s) * x0 + s * noise
            packed = FluxPipeline._pack_latents(noisy, b, c, h, w)
            img_ids = FluxPipeline._prepare_latent_image_ids(b, h // 2, w // 2, device, weight_dtype)
            guidance = torch.full((b,), args.guidance, device=device, dtype=torch.float32)
            with accelerator.autocast():
                pred = transformer(hidden_states=packed, timestep=sigma.to(weight_dtype), guidance=guidance,
                                   pooled_projections=pooled, encoder_hidden_states=embeds, txt_ids=text_ids,
                                   img_ids=img_ids, return_dict=False)[0]
            pred = FluxPipeline._unpack_latents(pred, h * vae_scale, w * vae_scale, vae_scale)
            loss = torch.nn.functional.mse_loss(pred.float(), (noise - x0).float())
            accelerator.backward(loss)
            optimizer.step()
            optimizer.zero_grad()
        if not math.isfinite(loss.item()):
            raise SystemExit(f"loss became {loss.item()} at step {step + 1}; lower --lr")
        losses.append(loss.item())
        step_s.append(round(time.perf_counter() - started, 4))
        bar.set_postfix(loss=f"{loss.item():.4f}")

    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        trained = accelerator.unwrap_model(transformer, keep_fp32_wrapper=False)  # plain forward for sampling
        state = {k: v.to(weight_dtype) for k, v in get_peft_model_state_dict(trained).items()}
        FluxPipeline.save_lora_weights(out, transformer_lora_layers=state)
        (out / "training.json").write_text(json.dumps({**{k: v for k, v in vars(args).items()}, "losses": losses,
                                                       "step_s": step_s, "images": len(items), "mixed_precision": mp,
                                                       "peak_gpu_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2)
                                                       if cuda else None}, indent=2),
                                           encoding="utf-8")
        if args.sample_prompt:
            trained.eval()
            pipe.transformer = trained.to(weight_dtype)
            pipe.to(device)
            samples = out / "samples"
            samples.mkdir(exist_ok=True)
            for i, prompt in enumerate(args.sample_prompt):
                image = pipe(prompt, width=args.resolution, height=args.resolution, num_inference_steps=args.sample_steps,
                             generator=torch.Generator("cpu").manual_seed(args.seed + i),
                             max_sequence_length=args.max_sequence_length).images[0]
                image.save(samples / f"sample_{i:02d}.png")
        print(json.dumps({"lora": str(out / "pytorch_lora_weights.safetensors"), "final_loss": losses[-1]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
