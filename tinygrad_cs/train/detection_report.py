"""The end of a detection run: the held-out mAP table, ``metrics.json``, ``detections.png``
and ``nms.png``; what ``tgcs train`` prints after a detection model and ``tgcs eval`` prints
for a saved run.

The table (``format_table``) gives COCO's AP@[.5:.95], AP@.5 and AP@.75, VOC's all-point
AP@.5 and COCO's AR@100 over the held-out images, then each class's AP@[.5:.95] and AP@.5;
a model that returns masks gets a second column of the same numbers for its masks.

``nms.png`` needs the model's detections before NMS: a model that has
``predict(images, nms=False)`` returning, per image, ``{"boxes", "scores", "labels", "keep"}``
(the candidates and the indices its NMS keeps) is drawn with it; for another model the
picture is left out (``draw_detection_pictures`` does not list it, nor does ``tgcs train``).
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import tinygrad_cs as tg

from ..data.detection import average_precision, evaluate_detections
from .detection import evaluate_detector

__all__ = ["detection_report", "draw_detection_pictures", "format_table", "per_class_ap50"]

_ROWS = (("COCO AP@[.5:.95]", "map"), ("COCO AP@.5", "map_50"), ("COCO AP@.75", "map_75"),
         ("VOC AP@.5", "voc_map_50"), ("COCO AR@100", "mar_100"))


def _numpy(x: Any) -> np.ndarray:
    return x.numpy() if isinstance(x, tg.Tensor) else np.asarray(x)


def per_class_ap50(predictions: Sequence[dict], targets: Sequence[dict],
                   iou_type: str = "bbox") -> dict[int, float]:
    """label -> COCO AP@.5 of that class alone (the classes with ground truth)."""
    labels = sorted({int(v) for t in targets for v in _numpy(t["labels"]).reshape(-1)})
    return {c: average_precision([_only(p, c) for p in predictions],
                                 [_only(t, c) for t in targets], iou_type=iou_type,
                                 iou_thresholds=[0.5])
            for c in labels}


def _only(sample: dict, label: int) -> dict:
    """``sample``'s boxes, labels, scores and masks of class ``label`` only."""
    keep = _numpy(sample["labels"]).reshape(-1) == label
    return {k: _numpy(sample[k])[keep] for k in ("boxes", "labels", "scores", "masks")
            if k in sample}


def _summary(predictions: list[dict], targets: list[dict], iou_type: str) -> dict[str, Any]:
    found = evaluate_detections(predictions, targets, iou_type=iou_type)
    ap50 = per_class_ap50(predictions, targets, iou_type)
    return {**{key: found[key] for _, key in _ROWS},
            "per_class": {int(c): {"map": found["map_per_class"][c], "map_50": ap50[c]}
                          for c in found["classes"]}}


def format_table(metrics: dict[str, Any], class_names: Sequence[str] | None = None) -> str:
    """The mAP table of ``metrics`` (``detection_report``'s: ``{"images", "box"[, "mask"]}``)."""
    kinds = [k for k in ("box", "mask") if k in metrics]
    head = f"held-out mAP on {metrics['images']} images"
    lines = [f"{head:<34}" + "".join(f"{k + 'es' if k == 'box' else k + 's':>14}"
                                     for k in kinds)]
    for label, key in _ROWS:
        lines.append(f"  {label:<32}" + "".join(f"{metrics[k][key]:>14.3f}" for k in kinds))
    lines.append("  per class: AP@[.5:.95] / AP@.5")
    for c in metrics[kinds[0]]["per_class"]:
        name = (class_names[int(c)] if class_names is not None and int(c) < len(class_names)
                else str(c))
        cells = "".join(f"{metrics[k]['per_class'][c]['map']:.3f} / "
                        f"{metrics[k]['per_class'][c]['map_50']:.3f}".rjust(14) for k in kinds)
        lines.append(f"    {name:<30}" + cells)
    return "\n".join(lines)


def detection_report(model: Any, loader: Iterable, run_dir: str | os.PathLike | None = None,
                     class_names: Sequence[str] | None = None) -> tuple[dict, str]:
    """Evaluate ``model`` on every image of ``loader``; returns ``(metrics, table)`` and,
    with ``run_dir``, writes ``metrics.json`` there (per-class keys are the labels)."""
    _, predictions, targets = evaluate_detector(model, loader)
    metrics: dict[str, Any] = {"images": len(targets),
                               "box": _summary(predictions, targets, "bbox")}
    if predictions and all("masks" in p for p in predictions) and \
            all("masks" in t for t in targets):
        metrics["mask"] = _summary(predictions, targets, "segm")
    if run_dir is not None:
        with open(Path(run_dir) / "metrics.json", "w", encoding="utf-8") as f:
            json.dump(metrics, f, indent=1)
    return metrics, format_table(metrics, class_names)


def draw_detection_pictures(model: Any, dataset: Any, run_dir: str | os.PathLike,
                            class_names: Sequence[str] | None = None, count: int = 8,
                            score_threshold: float = 0.3) -> list[str]:
    """``detections.png``: the first ``count`` images of ``dataset`` with the detections
    scoring at least ``score_threshold``; ``nms.png``: the first image with two or more
    objects, its candidates (above ``score_threshold``) before and after the model's NMS,
    when the model has ``predict(images, nms=False)`` (see the module docstring). Returns
    the file names written. The model's mode is restored."""
    from tinygrad_cs.viz.detection import draw_detections, draw_nms_before_after

    count = min(count, len(dataset))
    samples = [dataset[i] for i in range(count)]
    images = tg.stack([image for image, _ in samples])
    was_training = model.training
    model.eval()
    try:
        with tg.no_grad():
            found = model(images)
    finally:
        model.train(was_training)
    draw_detections(images, found, class_names, Path(run_dir) / "detections.png",
                    score_threshold=score_threshold)
    written = ["detections.png"]
    if callable(getattr(model, "predict", None)):
        crowded = [i for i, (_, t) in enumerate(samples) if len(_numpy(t["labels"])) >= 2]
        image = images[crowded[0] if crowded else 0:][:1]
        raw = model.predict(image, nms=False)[0]
        scores = _numpy(raw["scores"])
        shown = np.flatnonzero(scores >= score_threshold)
        where = np.full(len(scores), -1)
        where[shown] = np.arange(len(shown))
        kept = where[_numpy(raw["keep"]).astype(np.int64)]
        draw_nms_before_after(image[0], _numpy(raw["boxes"])[shown], scores[shown],
                              kept[kept >= 0], Path(run_dir) / "nms.png",
                              labels=_numpy(raw["labels"])[shown], class_names=class_names)
        written.append("nms.png")
    return written
