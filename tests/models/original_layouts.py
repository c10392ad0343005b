"""Tiny models written the way the original repositories write them, to test the converter against.

``OriginalViT`` follows facebookresearch/dinov2's ``DinoVisionTransformer`` (patch embedding,
class token, learned positions, blocks with a fused ``qkv`` projection and layer scale, final
norm; parameter names as in its state dict). ``OriginalDepthAnythingV2`` follows the Depth
Anything V2 repository's ``DepthAnythingV2`` (that ViT as ``pretrained``, a DPT ``depth_head``
fed by four intermediate blocks, sigmoid × max depth). Their forward passes are written here from
the original papers' and repositories' structure, independently of transformers, so matching
outputs show the converted weights do the same computation.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q * (c // self.heads) ** -0.5) @ k.transpose(-2, -1)
        x = (attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, n, c)
        return self.proj(x)


class LayerScale(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.norm1, self.attn, self.ls1 = nn.LayerNorm(dim, eps=1e-6), Attention(dim, heads), LayerScale(dim)
        self.norm2, self.mlp, self.ls2 = nn.LayerNorm(dim, eps=1e-6), Mlp(dim, 4 * dim), LayerScale(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.ls1(self.attn(self.norm1(x)))
        return x + self.ls2(self.mlp(self.norm2(x)))


class PatchEmbed(nn.Module):
    def __init__(self, patch: int, dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, dim, patch, patch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class OriginalViT(nn.Module):
    """facebookresearch DINOv2 layout. Inputs must be the native grid size (no position interpolation here)."""

    def __init__(self, dim: int = 64, depth: int = 2, patch: int = 14, grid: int = 4) -> None:
        super().__init__()
        self.patch_embed = PatchEmbed(patch, dim)
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim) * 0.1)
        self.pos_embed = nn.Parameter(torch.randn(1, grid * grid + 1, dim) * 0.1)
        self.mask_token = nn.Parameter(torch.zeros(1, dim))
        self.blocks = nn.ModuleList([Block(dim, dim // 64 if dim >= 64 else 1) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        for p in self.parameters():  # layer scale and norms away from their identity values, so a swap shows
            with torch.no_grad():
                p.add_(torch.randn_like(p) * 0.05)

    def tokens(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The token sequence after every block (before the final norm)."""
        x = self.patch_embed(x)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        out = []
        for blk in self.blocks:
            x = blk(x)
            out.append(x)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.tokens(x)[-1])


class ResidualConvUnit(nn.Module):
    def __init__(self, features: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(features, features, 3, padding=1)
        self.conv2 = nn.Conv2d(features, features, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(F.relu(self.conv1(F.relu(x)))) + x


class FeatureFusionBlock(nn.Module):
    def __init__(self, features: int) -> None:
        super().__init__()
        self.out_conv = nn.Conv2d(features, features, 1)
        self.resConfUnit1, self.resConfUnit2 = ResidualConvUnit(features), ResidualConvUnit(features)

    def forward(self, *xs: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
        out = xs[0]
        if len(xs) == 2:
            out = out + self.resConfUnit1(xs[1])
        out = self.resConfUnit2(out)
        scale = {"scale_factor": 2} if size is None else {"size": size}
        out = F.interpolate(out, **scale, mode="bilinear", align_corners=True)
        return self.out_conv(out)


class Scratch(nn.Module):
    pass


class DPTHead(nn.Module):
    def __init__(self, dim: int, features: int, out_channels: list[int]) -> None:
        super().__init__()
        self.projects = nn.ModuleList([nn.Conv2d(dim, c, 1) for c in out_channels])
        self.resize_layers = nn.ModuleList([
            nn.ConvTranspose2d(out_channels[0], out_channels[0], 4, 4),
            nn.ConvTranspose2d(out_channels[1], out_channels[1], 2, 2),
            nn.Identity(), nn.Conv2d(out_channels[3], out_channels[3], 3, 2, 1)])
        self.scratch = Scratch()
        for i, c in enumerate(out_channels, 1):
            setattr(self.scratch, f"layer{i}_rn", nn.Conv2d(c, features, 3, padding=1, bias=False))
        for i in range(1, 5):
            setattr(self.scratch, f"refinenet{i}", FeatureFusionBlock(features))
        self.scratch.output_conv1 = nn.Conv2d(features, features // 2, 3, padding=1)
        self.scratch.output_conv2 = nn.Sequential(nn.Conv2d(features // 2, 32, 3, padding=1), nn.ReLU(True),
                                                  nn.Conv2d(32, 1, 1), nn.Sigmoid())

    def forward(self, feats: list[torch.Tensor], ph: int, pw: int) -> torch.Tensor:
        out = []
        for i, x in enumerate(feats):
            x = x.permute(0, 2, 1).reshape(x.shape[0], x.shape[-1], ph, pw)
            out.append(self.resize_layers[i](self.projects[i](x)))
        s = self.scratch
        l1, l2, l3, l4 = (getattr(s, f"layer{i}_rn")(o) for i, o in enumerate(out, 1))
        p4 = s.refinenet4(l4, size=l3.shape[2:])
        p3 = s.refinenet3(p4, l3, size=l2.shape[2:])
        p2 = s.refinenet2(p3, l2, size=l1.shape[2:])
        p1 = s.refinenet1(p2, l1)
        y = F.interpolate(s.output_conv1(p1), (ph * 14, pw * 14), mode="bilinear", align_corners=True)
        return s.output_conv2(y)


class OriginalDepthAnythingV2(nn.Module):
    """The Depth Anything V2 repository's layout: ``pretrained`` (DINOv2) + ``depth_head`` (DPT), metric."""

    def __init__(self, dim: int = 64, depth: int = 12, grid: int = 4, features: int = 16,
                 out_channels: tuple[int, ...] = (8, 16, 32, 32), layers: tuple[int, ...] = (2, 5, 8, 11),
                 max_depth: float = 20.0) -> None:
        super().__init__()
        self.pretrained = OriginalViT(dim, depth, 14, grid)
        self.depth_head = DPTHead(dim, features, list(out_channels))
        self.layers, self.max_depth = layers, max_depth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ph, pw = x.shape[-2] // 14, x.shape[-1] // 14
        tokens = self.pretrained.tokens(x)
        feats = [self.pretrained.norm(tokens[i])[:, 1:] for i in self.layers]  # get_intermediate_layers(norm=True)
        return (self.depth_head(feats, ph, pw) * self.max_depth).squeeze(1)
