"""Synthetic shapes, segmentation networks, losses and metrics, and the train → predict round trip."""

import math

import numpy as np
import pytest
import torch

from perception.data import CLASS_NAMES, MIN_VISIBLE, ShapesDataset, collate
from perception.predict import main as predict_main
from perception.seg_losses import cross_entropy_loss, dice_loss, segmentation_loss
from perception.seg_metrics import confusion_matrix, iou_per_class, mean_iou
from perception.segmentation import FCN, SegmentationConfig, UNet, build_segmentation_model
from perception.train import SegmentationTrainConfig, train_segmentation


def test_dataset_items_have_the_documented_types_and_ranges():
    image, mask, boxes, labels = ShapesDataset(5, image_size=48, seed=3)[2]
    assert image.shape == (3, 48, 48) and image.dtype == torch.float32
    assert 0.0 <= image.min() and image.max() <= 1.0
    assert mask.shape == (48, 48) and mask.dtype == torch.int64
    assert set(mask.unique().tolist()) <= {0, 1, 2, 3}
    assert boxes.dtype == torch.float32 and boxes.shape == (len(labels), 4)
    assert labels.dtype == torch.int64 and 1 <= len(labels) <= 3
    assert CLASS_NAMES == ("circle", "square", "triangle")
    with pytest.raises(IndexError):
        ShapesDataset(5)[5]


def test_dataset_is_a_pure_function_of_seed_and_index():
    a, b = ShapesDataset(10, seed=7), ShapesDataset(10, seed=7)
    later_first = [b[i] for i in reversed(range(10))][::-1]  # access order must not matter
    for i in range(10):
        for x, y in zip(a[i], later_first[i], strict=True):
            assert torch.equal(x, y)
    assert not torch.equal(ShapesDataset(10, seed=8)[0][0], a[0][0])
    assert not torch.equal(a[1][0], a[0][0])


_FULL_AREA = {0: math.pi, 1: 4.0, 2: 2.0}  # shape area / r² for circle, square, triangle (base 2r, height 2r)


def test_masks_and_boxes_agree():
    dataset = ShapesDataset(60, image_size=64, seed=11)
    overlaps = 0
    for i in range(len(dataset)):
        _, mask, boxes, labels = dataset[i]
        ys, xs = torch.meshgrid(torch.arange(64) + 0.5, torch.arange(64) + 0.5, indexing="ij")
        covered = torch.zeros(64, 64, dtype=torch.bool)
        assert (boxes >= 0).all() and (boxes <= 64).all()
        for (x1, y1, x2, y2), label in zip(boxes.tolist(), labels.tolist(), strict=True):
            inside = (xs >= x1) & (xs <= x2) & (ys >= y1) & (ys <= y2)
            visible = int((inside & (mask == label + 1)).sum())
            r = (x2 - x1) / 2
            assert visible >= 0.9 * MIN_VISIBLE * _FULL_AREA[label] * r**2  # nothing left barely visible
            covered |= inside & (mask == label + 1)
        assert torch.equal(covered, mask > 0)  # every shape pixel lies in a box of its own class
        overlaps += int(_boxes_overlap(boxes))
    assert overlaps > 0  # occlusion does happen


def _boxes_overlap(boxes: torch.Tensor) -> bool:
    for i in range(len(boxes)):
        for j in range(i):
            a, b = boxes[i], boxes[j]
            if min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1]):
                return True
    return False


def test_collate_keeps_variable_numbers_of_boxes():
    dataset = ShapesDataset(8, image_size=32, seed=0)
    images, masks, boxes, labels = collate([dataset[i] for i in range(8)])
    assert images.shape == (8, 3, 32, 32) and masks.shape == (8, 32, 32)
    assert [len(b) for b in boxes] == [len(dataset[i][3]) for i in range(8)]
    assert len({len(b) for b in boxes}) > 1
    assert all(len(b) == len(label) for b, label in zip(boxes, labels, strict=True))


@pytest.mark.parametrize("model", [UNet(3, 4, base_channels=4, depth=3), FCN(3, 4, base_channels=4)])
def test_segmentation_networks_give_per_pixel_logits(model):
    assert model(torch.rand(2, 3, 64, 48)).shape == (2, 4, 64, 48)


def test_build_segmentation_model_rejects_unknown_arch():
    assert isinstance(build_segmentation_model(SegmentationConfig(arch="fcn")), FCN)
    with pytest.raises(ValueError, match="unet"):
        build_segmentation_model(SegmentationConfig(arch="segnet"))


def test_iou_and_miou_by_hand():
    target = torch.tensor([[0, 0, 1], [1, 2, 2]])
    pred = torch.tensor([[0, 1, 1], [1, 2, 0]])
    confusion = confusion_matrix(pred, target, num_classes=4)
    assert confusion[:3, :3].tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    ious = iou_per_class(confusion)
    # class 0: TP 1, FP 1, FN 1; class 1: TP 2, FP 1; class 2: TP 1, FN 1; class 3 absent: undefined
    torch.testing.assert_close(ious[:3], torch.tensor([1 / 3, 2 / 3, 1 / 2], dtype=torch.float64))
    assert math.isnan(ious[3])
    assert mean_iou(confusion) == pytest.approx(0.5)


def test_dice_and_cross_entropy_by_hand():
    # three pixels, two classes; softmax of (0, log 3) is (1/4, 3/4)
    lo, hi = 0.0, math.log(3.0)
    logits = torch.tensor([[lo, hi], [hi, lo], [hi, lo]]).T.reshape(1, 2, 1, 3)  # [B, K, H, W]
    target = torch.tensor([[[1, 0, 1]]])
    # class 0: Σpg = 3/4, Σp = 7/4, Σg = 1;  class 1: Σpg = 3/4 + 1/4, Σp = 5/4, Σg = 2
    dice0, dice1 = (2 * 0.75) / (1.75 + 1), (2 * 1.0) / (1.25 + 2)
    assert float(dice_loss(logits, target, eps=0.0)) == pytest.approx(1 - (dice0 + dice1) / 2)
    dice0, dice1 = (2 * 0.75 + 1) / (1.75 + 1 + 1), (2 * 1.0 + 1) / (1.25 + 2 + 1)
    assert float(dice_loss(logits, target, eps=1.0)) == pytest.approx(1 - (dice0 + dice1) / 2)
    expected_ce = -(math.log(0.75) + math.log(0.75) + math.log(0.25)) / 3
    assert float(cross_entropy_loss(logits, target)) == pytest.approx(expected_ce)
    assert float(segmentation_loss(logits, target, dice_weight=0.0)) == pytest.approx(expected_ce)


def test_perfect_prediction_has_zero_dice_loss_and_miou_one():
    target = torch.tensor([[[0, 1], [2, 2]]])
    logits = 50.0 * torch.nn.functional.one_hot(target, 4).permute(0, 3, 1, 2).float()
    assert float(dice_loss(logits, target)) == pytest.approx(0.0, abs=1e-6)  # absent class 3 counts as 1
    assert mean_iou(confusion_matrix(logits.argmax(1), target, 4)) == 1.0


def test_unet_overfits_one_batch():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    images, masks, _, _ = collate([ShapesDataset(4, image_size=32, seed=1)[i] for i in range(4)])
    assert set(masks.unique().tolist()) == {0, 1, 2, 3}
    model = UNet(3, 4, base_channels=8, depth=2)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(60):
        loss = segmentation_loss(model(images), masks)
        losses.append(float(loss.detach()))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert losses[-1] < 0.2 * losses[0]
    model.eval()
    with torch.no_grad():
        assert mean_iou(confusion_matrix(model(images).argmax(1), masks, 4)) > 0.9


def test_train_then_predict_round_trip(tmp_path):
    torch.set_num_threads(1)
    config = SegmentationTrainConfig(model=SegmentationConfig(base_channels=4, depth=2, image_size=32),
                                     batch_size=4, eval_images=6, clock="cpu")
    metrics = train_segmentation(minutes=0.02, out=tmp_path / "run", seed=0, config=config)
    assert metrics["steps"] >= 1 and 0.0 <= metrics["mIoU"] <= 1.0
    assert set(metrics["IoU"]) == {"background", "circle", "square", "triangle"}
    assert (tmp_path / "run" / "metrics.json").exists()
    saved = torch.load(tmp_path / "run" / "model.pt", weights_only=True)
    assert saved["config"]["image_size"] == 32
    predict_main(["segmentation", "--weights", str(tmp_path / "run"), "--out", str(tmp_path / "p.png"),
                  "--num-images", "2"])
    with open(tmp_path / "p.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert np.isfinite(metrics["pixel_accuracy"])
    with pytest.raises(ValueError, match="clock"):
        train_segmentation(minutes=0.0, out=tmp_path / "bad", config=SegmentationTrainConfig(clock="gpu"))
