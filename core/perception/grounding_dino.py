"""Local open-vocabulary detection with Grounding DINO through transformers.

Weights: a local folder holding the model and its processor (``config.json``,
``model.safetensors``, ``preprocessor_config.json``/``processor_config.json``, tokenizer files),
by default ``<weights_dir>/grounding-dino-base`` (download ``IDEA-Research/grounding-dino-base``).

The model gives boxes only: masks are made afterwards inside each box by depth-aware
segmentation (:mod:`core.perception.segment`), which needs no extra weights.

Label assignment is done here rather than from the library's phrase strings: the prompt is
``"label one. label two. …"``, each label owns a known span of text tokens, and a query's
score for a label is the highest token probability in that span. A query is kept when its
best prompt token reaches ``box_threshold`` and its label's score reaches ``text_threshold``. Long vocabularies are split
into several prompts that each fit the model's text length.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..config import DetectionSettings
from ..errors import MissingWeightsError
from ..geometry.boxes2d import box_iou_2d
from .protocols import RawDetection

HUB_ID = "IDEA-Research/grounding-dino-base"


_LOADED: dict[tuple[str, str], tuple[Any, Any]] = {}  # (folder, device) → (model, processor)


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float = 0.5) -> list[int]:
    order = list(np.argsort(-scores))
    keep: list[int] = []
    while order:
        i = order.pop(0)
        keep.append(int(i))
        if order:
            ious = box_iou_2d(boxes[[i]], boxes[order])[0]
            order = [j for j, v in zip(order, ious) if v <= iou]
    return keep


class GroundingDinoLocal:
    """:class:`~core.perception.protocols.DetectionBackend` over a local Grounding DINO checkpoint."""

    name = "grounding-dino-local"

    def __init__(self, folder: str | Path, settings: DetectionSettings, device: str = "cpu",
                 max_detections: int = 60) -> None:
        self.folder = Path(folder)
        self.settings = settings
        self.device = device
        self.max_detections = max_detections
        self._model: Any = None
        self._processor: Any = None

    def _load(self) -> tuple[Any, Any]:
        """The model and processor, loaded once per worker (a warm worker does not re-read the checkpoint)."""
        if self._model is None:
            key = (str(self.folder), self.device)
            if key not in _LOADED:
                import torch
                from transformers import GroundingDinoForObjectDetection, GroundingDinoProcessor

                from ..models.registry import fix_for, get

                try:
                    processor = GroundingDinoProcessor.from_pretrained(self.folder, local_files_only=True)
                    model = GroundingDinoForObjectDetection.from_pretrained(self.folder, local_files_only=True)
                except (OSError, ValueError) as exc:
                    raise MissingWeightsError(f"Cannot load Grounding DINO from {self.folder} ({exc}).",
                                              fix_for(get("grounding_dino"), self.folder)) from None
                dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
                _LOADED[key] = (model.to(self.device, dtype=dtype).eval(), processor)
            self._model, self._processor = _LOADED[key]
        return self._model, self._processor

    def _chunks(self, labels: list[str], tokenizer: Any, max_len: int) -> list[tuple[str, list[tuple[str, int, int]]]]:
        """Prompts of whole labels that fit ``max_len`` tokens, with each label's token span."""
        chunks, text, spans, pos = [], "", [], 1  # position 0 is [CLS]
        dot = len(tokenizer(".", add_special_tokens=False).input_ids)
        for label in labels:
            n = len(tokenizer(label, add_special_tokens=False).input_ids)
            if spans and pos + n + dot + 1 > max_len:
                chunks.append((text.strip(), spans))
                text, spans, pos = "", [], 1
            spans.append((label, pos, pos + n))
            text += f"{label}. "
            pos += n + dot
        if spans:
            chunks.append((text.strip(), spans))
        return chunks

    def detect(self, rgb: np.ndarray, labels: list[str], **context: Any) -> list[RawDetection]:
        import torch
        from PIL import Image

        model, processor = self._load()
        ctx = context.get("ctx")
        h, w = rgb.shape[:2]
        image = Image.fromarray(rgb)
        max_len = int(getattr(model.config, "max_text_len", 256))
        boxes_all, scores_all, labels_all = [], [], []
        for text, spans in self._chunks(labels, processor.tokenizer, max_len):
            if ctx is not None:
                ctx.check_cancelled()
            inputs = processor(images=image, text=text, return_tensors="pt").to(self.device)
            inputs["pixel_values"] = inputs["pixel_values"].to(model.dtype)
            with torch.inference_mode():
                out = model(**inputs)
            probs = out.logits[0].float().sigmoid().cpu().numpy()  # (queries, text tokens)
            per_label = np.stack([probs[:, a:b].max(axis=1) if b > a else np.zeros(len(probs))
                                  for _, a, b in spans], axis=1)
            best = per_label.argmax(axis=1)
            score = per_label.max(axis=1)
            cxcywh = out.pred_boxes[0].float().cpu().numpy()
            xyxy = np.stack([(cxcywh[:, 0] - cxcywh[:, 2] / 2) * w, (cxcywh[:, 1] - cxcywh[:, 3] / 2) * h,
                             (cxcywh[:, 0] + cxcywh[:, 2] / 2) * w, (cxcywh[:, 1] + cxcywh[:, 3] / 2) * h], axis=1)
            xyxy = np.clip(xyxy, 0, [w, h, w, h])
            box_score = probs[:, 1:spans[-1][2]].max(axis=1)  # as in Grounding DINO: best token of the prompt
            keep = ((box_score >= self.settings.box_threshold) & (score >= self.settings.text_threshold)
                    & (xyxy[:, 2] - xyxy[:, 0] >= 1) & (xyxy[:, 3] - xyxy[:, 1] >= 1))
            boxes_all.append(xyxy[keep])
            scores_all.append(score[keep])
            labels_all.extend(spans[i][0] for i in best[keep])
        if not labels_all:
            return []
        boxes, scores = np.concatenate(boxes_all), np.concatenate(scores_all)
        out_dets: list[RawDetection] = []
        for label in sorted(set(labels_all)):
            idx = np.array([i for i, lab in enumerate(labels_all) if lab == label])
            for j in nms(boxes[idx], scores[idx]):
                i = idx[j]
                out_dets.append(RawDetection(label, float(scores[i]), tuple(float(v) for v in boxes[i]), None, ""))
        out_dets.sort(key=lambda d: -d.score)
        return out_dets[: self.max_detections]
