"""The detection training pipeline: ``fit_detection``, ``tgcs train`` with a detection model,
``tgcs eval``.

Oracles: an uninterrupted run (a resumed one must match it bit for bit), the sum of the
loss terms (the history's total), ``evaluate_detections`` on the same predictions (the
printed table and ``metrics.json``), and the documented one-line errors. Runs are tiny:
40 training and 12 held-out 64x64 images.
"""
from __future__ import annotations

import csv
import json
from functools import partial

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs.cli import evaluate as cli_eval
from tinygrad_cs.cli import main
from tinygrad_cs.cli import train as cli_train
from tinygrad_cs.data import DataLoader, load_dataset
from tinygrad_cs.data.detection import detection_collate
from tinygrad_cs.nn.models.detection.yolo import YOLOv1
from tinygrad_cs.train import TrainingDiverged, detection_recipe, load_model
from tinygrad_cs.train.detection import fit_detection
from tinygrad_cs.train.detection_recipe import default_detection_recipe
from tinygrad_cs.train.detection_report import detection_report

PNG = b"\x89PNG\r\n\x1a\n"
SMALL = {"n_train": 40, "n_test": 12}


@pytest.fixture
def small_shapes(monkeypatch):
    """The shapes set with 40 training and 12 held-out images, for train and eval."""
    monkeypatch.setattr(detection_recipe, "load_dataset", partial(load_dataset, **SMALL))
    monkeypatch.setattr(cli_eval, "load_dataset", partial(load_dataset, **SMALL))


def _train(tmp_path, *options: str) -> int:
    return main(["train", "--runs-dir", str(tmp_path), "--no-progress", "--model", "yolo",
                 "--batch-size", "20", *options])


def _params(run) -> dict:
    return {k: v.numpy() for k, v in tg.load(run / "checkpoint.npz")["model"].items()}


def _table(text: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("held-out mAP on"))
    return lines[start:start + 10]


def test_train_writes_pictures_table_and_checkpoint_and_eval_repeats_it(
        tmp_path, capsys, small_shapes):
    assert _train(tmp_path, "--data", "shapes", "--epochs", "2", "--name", "a") == 0
    out = capsys.readouterr().out
    run = tmp_path / "a"
    for name in ("detections.png", "nms.png", "curves.png"):
        assert (run / name).read_bytes().startswith(PNG), name
    table = _table(out)
    assert table[0].split() == ["held-out", "mAP", "on", "12", "images", "boxes"]
    metrics = json.loads((run / "metrics.json").read_text())
    assert table[1].split() == ["COCO", "AP@[.5:.95]", f"{metrics['box']['map']:.3f}"]
    assert [line.split()[0] for line in table[7:]] == ["circle", "rectangle", "triangle"]
    rows = list(csv.DictReader((run / "history.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    for r in rows:      # the total is the sum of the terms; mAP every epoch
        terms = [float(v) for k, v in r.items() if k.startswith("loss_")]
        assert len(terms) == 4 and float(r["loss"]) == pytest.approx(sum(terms), rel=1e-5)
        assert 0 <= float(r["map_50"]) <= 1 and 0 <= float(r["map"]) <= float(r["map_50"])
    assert float(rows[-1]["map"]) == pytest.approx(metrics["box"]["map"], abs=1e-12)
    pictures = {name: (run / name).read_bytes() for name in ("detections.png", "nms.png")}
    assert main(["eval", str(run), "--write"]) == 0
    assert _table(capsys.readouterr().out) == table    # the same numbers from the checkpoint
    assert {name: (run / name).read_bytes() for name in pictures} == pictures
    model = load_model(run)
    assert isinstance(model, YOLOv1) and not model.training


def test_interrupted_run_resumes_exactly(tmp_path, capsys, small_shapes, monkeypatch):
    real = cli_train.fit_detection

    def stop_after_one(*args, callbacks=(), **kwargs):
        def stop(row):
            raise KeyboardInterrupt
        monkeypatch.setattr(cli_train, "fit_detection", real)
        return real(*args, callbacks=[*callbacks, stop], **kwargs)

    monkeypatch.setattr(cli_train, "fit_detection", stop_after_one)
    options = ["--data", "shapes", "--epochs", "2"]
    assert _train(tmp_path, *options, "--name", "split") == 130
    assert "tgcs train --resume --name split" in capsys.readouterr().err
    assert _train(tmp_path, "--resume", "--name", "split") == 0
    assert _train(tmp_path, *options, "--name", "whole") == 0
    a, b = _params(tmp_path / "split"), _params(tmp_path / "whole")
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    capsys.readouterr()
    assert _train(tmp_path, "--resume", "--name", "whole") == 0
    assert "run whole has already finished: 2 epochs" in capsys.readouterr().out


@pytest.mark.parametrize("options, words", [
    (["--model", "yolo", "--data", "digits"], ["'yolo'", "detection model", "'digits'"]),
    (["--model", "resnet8", "--data", "shapes"], ["'resnet8'", "(classify)", "'shapes'",
                                                 "yolo"]),
    (["--model", "dcgan", "--data", "shapes"], ["'dcgan'", "'shapes'"]),
])
def test_models_and_data_that_do_not_fit_end_in_one_line(tmp_path, capsys, options, words):
    assert main(["train", "--runs-dir", str(tmp_path), *options]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("tgcs train: error:")
    for word in words:
        assert word in err
    assert list(tmp_path.iterdir()) == []


def test_eval_refuses_what_is_not_a_detection_run(tmp_path, capsys):
    assert main(["eval", str(tmp_path)]) == 2
    assert "is not a finished tgcs train run" in capsys.readouterr().err
    (tmp_path / "recipe.json").write_text(json.dumps({"model": "resnet8", "data": "digits"}))
    (tmp_path / "checkpoint.npz").write_bytes(b"")
    assert main(["eval", str(tmp_path)]) == 2
    assert "'resnet8', a 'classify' model" in capsys.readouterr().err


def test_detection_defaults_train_on_shapes():
    recipe = default_detection_recipe("yolo")
    assert recipe.model == "yolo" and recipe.data == "shapes" and recipe.augment


@pytest.mark.parametrize("model", ["faster_rcnn", "mask_rcnn"])
def test_tgcs_train_builds_the_two_stage_recipe_from_its_defaults(tmp_path, capsys,
                                                                 small_shapes, monkeypatch,
                                                                 model):
    """``tgcs train --model faster_rcnn`` with no other option: the recipe written, the
    optimizer, schedule and batches handed to the loop are DETECTION_DEFAULTS' (momentum
    SGD with Nesterov, lr 0.02 at the one-cycle peak, weight decay 1e-4, batch 8). The loop
    is stopped before its first step, as an interrupt would."""
    given = {}

    def record(model_, train_loader, val_loader, **kwargs):
        given.update(kwargs, model=model_, batch=train_loader.batch_size)
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_train, "fit_detection", record)
    assert main(["train", "--runs-dir", str(tmp_path), "--no-progress", "--model", model,
                 "--name", "r"]) == 130
    capsys.readouterr()
    want = detection_recipe.DETECTION_DEFAULTS[model]
    assert want["optimizer"] == "sgd" and want["lr"] == 0.02 and want["batch_size"] == 8
    saved = json.loads((tmp_path / "r" / "recipe.json").read_text())
    assert {k: saved[k] for k in want} == want
    assert saved["data"] == "shapes" and saved["lr_schedule"] == "onecycle"
    opt, scheduler = given["optimizer"], given["scheduler"]
    assert isinstance(opt, tg.optim.SGD) and given["batch"] == 8
    group = opt.param_groups[0]
    assert group["weight_decay"] == 1e-4 and group["nesterov"]
    assert isinstance(scheduler, tg.optim.lr_scheduler.OneCycleLR)
    assert group["max_lr"] == 0.02 and given["epochs"] == want["epochs"]
    assert type(given["model"]).__name__ == {"faster_rcnn": "FasterRCNN",
                                             "mask_rcnn": "MaskRCNN"}[model]


def _loaders():
    splits = load_dataset("shapes", n_train=8, n_test=4)
    collate = partial(detection_collate, stack=True)
    return (DataLoader(splits.train, batch_size=4, collate_fn=collate),
            DataLoader(splits.test, batch_size=4, collate_fn=collate))


def test_a_nan_names_the_step_and_the_layer_and_keeps_the_checkpoint(tmp_path):
    tg.manual_seed(0)
    model = YOLOv1(4, widths=(4, 8, 8), extra=0)
    opt = tg.optim.SGD(model.parameters(), lr=0.0)
    train, test = _loaders()
    fit_detection(model, train, test, optimizer=opt, epochs=1, run_dir=tmp_path,
                  progress=False)
    before = (tmp_path / "checkpoint.npz").read_bytes()
    with tg.no_grad():
        model.backbone[0].weight.numpy()[0, 0, 0, 0] = np.nan
    with pytest.raises(TrainingDiverged, match=r"epoch 1, batch 1/2.*model\.backbone\.0 "
                                               r"\(Conv2d"):
        fit_detection(model, train, test, optimizer=opt, epochs=1, run_dir=tmp_path,
                      progress=False)
    assert (tmp_path / "checkpoint.npz").read_bytes() == before


def test_a_model_that_returns_no_loss_dict_is_named():
    class Boxes(tg.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = tg.nn.Parameter(tg.ones(1))

        def forward(self, images, targets=None):
            return [self.w.sum()]

    model = Boxes()
    with pytest.raises(TypeError, match="must return a dict of scalar losses, got list"):
        fit_detection(model, _loaders()[0], optimizer=tg.optim.SGD(model.parameters(), lr=0.1),
                      epochs=1, progress=False)


class _Replay(tg.nn.Module):
    """A stand-in detector that answers each image with a given prediction, in order."""

    def __init__(self, predictions: list) -> None:
        super().__init__()
        self.predictions, self.next = predictions, 0

    def forward(self, images, targets=None):
        n = images.shape[0]
        self.next += n
        return self.predictions[self.next - n:self.next]


def test_report_table_counts_boxes_and_masks_per_class(tmp_path):
    """Ground truth given back as predictions, except every triangle (label 3): AP is 1 for
    circles and rectangles, 0 for triangles, so the means are 2/3, for boxes and masks."""
    splits = load_dataset("shapes", n_train=1, n_test=12)
    loader = DataLoader(splits.test, batch_size=5, collate_fn=partial(detection_collate,
                                                                     stack=True))
    answers = []
    for _, t in splits.test:
        keep = t["labels"].numpy() != 3
        answers.append({"boxes": t["boxes"].numpy()[keep], "labels": t["labels"].numpy()[keep],
                        "scores": np.ones(int(keep.sum()), np.float32),
                        "masks": t["masks"].numpy()[keep].astype(np.float32)})
    metrics, table = detection_report(_Replay(answers), loader, tmp_path, splits.classes)
    for kind in ("box", "mask"):
        assert metrics[kind]["map"] == pytest.approx(2 / 3) == metrics[kind]["map_50"]
        assert metrics[kind]["voc_map_50"] == pytest.approx(2 / 3)
        assert {c: v["map_50"] for c, v in metrics[kind]["per_class"].items()} == {
            1: 1.0, 2: 1.0, 3: 0.0}
    lines = table.splitlines()
    assert lines[0].split()[-2:] == ["boxes", "masks"]
    assert lines[-1].split() == ["triangle", "0.000", "/", "0.000", "0.000", "/", "0.000"]
    assert json.loads((tmp_path / "metrics.json").read_text())["images"] == 12
