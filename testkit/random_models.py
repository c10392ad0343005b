"""A FLUX pipeline with random weights, at full FLUX.1-dev size or tiny, with tokenizers made offline.

Why: tests need a real :class:`diffusers.FluxPipeline` that runs in a second on a CPU, and the
benchmark needs the full-size architecture (12B transformer, T5-XXL, CLIP-L, the 16-channel VAE)
on a GPU with no hub access. Both come from the same code, so the benchmark measures the same
classes the tests exercise. Large models are built on the ``meta`` device and filled with random
values directly where they will run, which avoids a 48 GB float32 initialisation on the CPU.
The tokenizers are generated (a byte-level CLIP vocabulary; a sentencepiece model trained on a
few sentences for T5), so nothing is downloaded. Random weights give the right speed and memory,
never a meaningful picture.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# FLUX.1-dev component configurations (public model-card values).
FULL_TRANSFORMER = dict(patch_size=1, in_channels=64, num_layers=19, num_single_layers=38, attention_head_dim=128,
                        num_attention_heads=24, joint_attention_dim=4096, pooled_projection_dim=768,
                        guidance_embeds=True, axes_dims_rope=(16, 56, 56))
FULL_VAE = dict(in_channels=3, out_channels=3, latent_channels=16, block_out_channels=(128, 256, 512, 512),
                layers_per_block=2, down_block_types=("DownEncoderBlock2D",) * 4,
                up_block_types=("UpDecoderBlock2D",) * 4, scaling_factor=0.3611, shift_factor=0.1159,
                use_quant_conv=False, use_post_quant_conv=False, sample_size=1024, norm_num_groups=32)
FULL_CLIP = dict(vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                 num_attention_heads=12, max_position_embeddings=77, hidden_act="quick_gelu", projection_dim=768)
FULL_T5 = dict(vocab_size=32128, d_model=4096, d_kv=64, d_ff=10240, num_layers=24, num_heads=64,
               feed_forward_proj="gated-gelu", relative_attention_num_buckets=32, dense_act_fn="gelu_new",
               is_gated_act=True)

# The tiny variants: the same architectures (activations, gating, VAE scaling) with small sizes.
TINY_TRANSFORMER = dict(FULL_TRANSFORMER, in_channels=16, num_layers=1, num_single_layers=1, attention_head_dim=16,
                        num_attention_heads=2, joint_attention_dim=32, pooled_projection_dim=32,
                        axes_dims_rope=(4, 6, 6))
TINY_VAE = dict(FULL_VAE, latent_channels=4, block_out_channels=(8, 16), layers_per_block=1,
                down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
                sample_size=32, norm_num_groups=4)
TINY_CLIP = dict(FULL_CLIP, vocab_size=1000, hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                 num_attention_heads=4, hidden_act="gelu", projection_dim=32)
TINY_T5 = dict(FULL_T5, vocab_size=1000, d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
               relative_attention_num_buckets=8)

_SENTENCES = [
    "a cozy living room with a sofa, an armchair and a coffee table",
    "a bedroom with a double bed, two nightstands and a wardrobe",
    "a dining room with a wooden table, six chairs and a pendant lamp",
    "a study with a desk, an office chair, a bookshelf and a rug",
    "a kitchen with cabinets, a fridge, a stove and bar stools",
    "modern minimalist scandinavian industrial rustic bright warm light",
]


def build_tokenizers(folder: Path) -> tuple[Any, Any]:
    """CLIP (byte-level BPE from a generated vocab) and T5 (sentencepiece trained here) tokenizers."""
    from transformers import CLIPTokenizer, T5TokenizerFast
    import sentencepiece as spm

    folder.mkdir(parents=True, exist_ok=True)
    # CLIP: every byte-level character, alone and word-final, plus a few merges and the two specials.
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    chars = [chr(c) for c in cs]
    vocab: dict[str, int] = {}
    for c in chars:
        vocab[c] = len(vocab)
    for c in chars:
        vocab[c + "</w>"] = len(vocab)
    merges = ["a </w>", "o o", "r o", "ro o", "roo m</w>"]
    for m in merges:
        vocab.setdefault(m.replace(" ", ""), len(vocab))
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    clip = CLIPTokenizer(vocab_file=str(folder / "vocab.json"), merges_file=str(folder / "merges.txt"),
                         model_max_length=77)

    prefix = folder / "t5spm"
    spm.SentencePieceTrainer.train(sentence_iterator=iter(_SENTENCES * 4), model_prefix=str(prefix), vocab_size=72,
                                   model_type="unigram", pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
                                   character_coverage=1.0, minloglevel=2)
    t5 = T5TokenizerFast(vocab_file=str(prefix) + ".model", extra_ids=0, model_max_length=512)
    return clip, t5


def _fill_random_(module: Any, std: float = 0.02, seed: int = 0) -> None:
    """Give every parameter random values in place (norm scales near 1, others N(0, std))."""
    import torch

    gen = torch.Generator(device=next(module.parameters()).device).manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if p.ndim == 1 and ("norm" in name or name.endswith("layer_norm.weight")) and name.endswith("weight"):
                p.fill_(1.0)
            else:
                p.normal_(0.0, std, generator=gen)


def _materialise(cls: Any, config: Any, device: str, dtype: Any, seed: int) -> Any:
    """Build ``cls(config)`` on the meta device, allocate it on ``device`` and fill it randomly."""
    import torch

    with torch.device("meta"):
        model = cls(config) if not isinstance(config, dict) else cls(**config)
    if any(True for _ in model.buffers()):
        raise RuntimeError(f"{cls.__name__} has buffers; build it directly instead of on the meta device.")
    model = model.to_empty(device=device).to(dtype)
    _fill_random_(model, seed=seed)
    return model.eval()


def build_random_flux(size: str = "tiny", device: str = "cpu", dtype: Any = None, folder: Path | None = None,
                      seed: int = 0) -> Any:
    """A :class:`FluxPipeline` with random weights; ``size`` is ``"tiny"`` or ``"full"`` (FLUX.1-dev shapes).

    Tiny models are built normally (a second on a CPU); the full 12B transformer and the T5-XXL
    encoder are materialised on ``device`` with random values. ``folder`` receives the tokenizers.
    """
    import tempfile

    import torch
    from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler, FluxPipeline, FluxTransformer2DModel
    from transformers import CLIPTextConfig, CLIPTextModel, T5Config, T5EncoderModel

    if size not in ("tiny", "full"):
        raise ValueError(f"size must be 'tiny' or 'full', got {size!r}")
    dtype = dtype or torch.float32
    full = size == "full"
    folder = Path(folder or tempfile.mkdtemp(prefix="flux-random-"))
    clip_tok, t5_tok = build_tokenizers(folder / "tokenizers")
    torch.manual_seed(seed)
    t_cfg, v_cfg, c_cfg, t5_cfg = ((FULL_TRANSFORMER, FULL_VAE, FULL_CLIP, FULL_T5) if full else
                                   (TINY_TRANSFORMER, TINY_VAE, TINY_CLIP, TINY_T5))
    clip_cfg = CLIPTextConfig(**c_cfg, bos_token_id=clip_tok.bos_token_id, eos_token_id=clip_tok.eos_token_id,
                              pad_token_id=clip_tok.pad_token_id)
    t5_config = T5Config(**t5_cfg, decoder_start_token_id=0, pad_token_id=0, eos_token_id=1)
    if full:
        transformer = _materialise(FluxTransformer2DModel, dict(t_cfg), device, dtype, seed)
        text_encoder_2 = _materialise(T5EncoderModel, t5_config, device, dtype, seed + 1)
    else:
        transformer = FluxTransformer2DModel(**t_cfg).to(device, dtype).eval()
        text_encoder_2 = T5EncoderModel(t5_config).to(device, dtype).eval()
    text_encoder = CLIPTextModel(clip_cfg).to(device, dtype).eval()
    vae = AutoencoderKL(**v_cfg).to(device, dtype).eval()
    scheduler = FlowMatchEulerDiscreteScheduler(shift=3.0, use_dynamic_shifting=True, base_shift=0.5, max_shift=1.15,
                                                base_image_seq_len=256, max_image_seq_len=4096)
    return FluxPipeline(scheduler=scheduler, vae=vae, text_encoder=text_encoder, tokenizer=clip_tok,
                        text_encoder_2=text_encoder_2, tokenizer_2=t5_tok, transformer=transformer)
