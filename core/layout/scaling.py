"""Scale each asset toward its observed box, by the asset's scaling strategy.

The catalogue says how an asset may be stretched (Imaginarium's ``scalingStrategy``):

* ``ISOTROPIC``: one factor for all axes (geometric mean of the per-axis ratios), so a chair keeps
  its proportions;
* ``RADIAL``: x and y together, z on its own (a round table may be taller or lower);
* ``ALIGNED_ANISOTROPIC``: each axis on its own (a wardrobe, a rug);
* ``SORTED_ANISOTROPIC``: the two horizontal extents are matched largest-to-largest, so a box seen
  turned by 90° does not squash the asset; height is matched to height because objects stand upright.

Every factor is clamped to ``[1 / max_change, max_change]``: a bad box can only do so much harm.
Instances of one group share the medoid of their scales (the one closest to the others in log
space), so identical chairs stay identical.
"""
from __future__ import annotations

import numpy as np


def ratios(asset_size: np.ndarray, observed: np.ndarray | None) -> np.ndarray:
    """observed / catalogue per axis; NaN where either is missing or flat (no evidence on that axis)."""
    out = np.full(3, np.nan)
    if observed is None:
        return out
    for k in range(3):
        if asset_size[k] > 1e-6 and observed[k] > 1e-6:
            out[k] = observed[k] / asset_size[k]
    return out


def _geomean(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    return float(np.exp(np.mean(np.log(values)))) if len(values) else 1.0


def strategy_scale(strategy: str, asset_size: np.ndarray | tuple, observed: np.ndarray | None,
                   max_change: float) -> np.ndarray:
    """The per-axis scale that brings the asset's catalogue size toward ``observed`` (asset axes)."""
    size = np.asarray(asset_size, dtype=float)
    if observed is None:
        return np.ones(3)
    obs = np.asarray(observed, dtype=float)
    if strategy == "SORTED_ANISOTROPIC":
        order_a, order_o = np.argsort(size[:2]), np.argsort(obs[:2])
        sorted_obs = np.empty(2)
        sorted_obs[order_a] = obs[:2][order_o]
        r = ratios(size, np.array([sorted_obs[0], sorted_obs[1], obs[2]]))
        scale = np.where(np.isfinite(r), r, 1.0)
    elif strategy == "ALIGNED_ANISOTROPIC":
        r = ratios(size, obs)
        scale = np.where(np.isfinite(r), r, 1.0)
    elif strategy == "RADIAL":
        r = ratios(size, obs)
        xy = _geomean(r[:2])
        scale = np.array([xy, xy, r[2] if np.isfinite(r[2]) else xy])
    else:  # ISOTROPIC
        scale = np.full(3, _geomean(ratios(size, obs)))
    return clamp_scale(scale, max_change)


def clamp_scale(scale: np.ndarray, max_change: float) -> np.ndarray:
    limit = max(float(max_change), 1.0)
    return np.clip(np.asarray(scale, dtype=float), 1.0 / limit, limit)


def medoid(scales: list[np.ndarray]) -> np.ndarray:
    """The member scale with the smallest summed log-distance to the others (first one on ties)."""
    if not scales:
        return np.ones(3)
    logs = [np.log(s) for s in scales]
    costs = [sum(float(np.linalg.norm(a - b)) for b in logs) for a in logs]
    return np.array(scales[int(np.argmin(costs))], dtype=float)


def scales_for(items: list, max_change: float) -> dict[str, np.ndarray]:
    """Scale per item id, with groups sharing their medoid (``items`` are LayoutItems).

    An item with a fit (the asset fitted to its observed points) keeps the fit's scale, clamped
    like any other: the fit saw the object's points, the box only their bounds.
    """
    from .problem import observed_extents

    out = {i.id: clamp_scale(i.fit.scale, max_change) if i.fit is not None else
           strategy_scale(i.asset.scaling_strategy, np.asarray(i.asset.size), observed_extents(i.yaw, i.box), max_change)
           for i in items}
    groups: dict[str, list[str]] = {}
    for i in items:
        if i.group:
            groups.setdefault(i.group, []).append(i.id)
    for members in groups.values():
        shared = medoid([out[m] for m in members])
        for m in members:
            out[m] = shared.copy()
    return out


def shrink_to_fit(extents: np.ndarray, room: np.ndarray, slack: float = 0.98) -> float:
    """Largest uniform factor ≤ 1 that fits ``extents`` into ``room`` (with a little slack)."""
    factors = [slack * r / e for e, r in zip(extents, room) if e > 1e-9]
    return min([1.0] + factors) if factors else 1.0


