"""Detection: exact values for box maths, anchors, the YOLO loss, NMS and AP; shapes; a tiny overfit."""

from __future__ import annotations

import math

import pytest
import torch

from perception.data import ShapesDataset, collate
from perception.detection.anchors import kmeans_anchors, mean_best_iou
from perception.detection.boxes import batched_nms, box_iou, cxcywh_to_xyxy, nms, wh_iou, xyxy_to_cxcywh
from perception.detection.loss import build_targets, yolo_loss
from perception.detection.metrics import average_precision, mean_average_precision
from perception.detection.predict import draw_detections, load_detector
from perception.detection.train import DetectionTrainConfig, evaluate, train_detection
from perception.detection.yolo import YOLO, YoloConfig, decode

LN2 = math.log(2.0)


def test_box_iou_hand_computed() -> None:
    a = torch.tensor([[0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 4.0, 4.0]])
    b = torch.tensor([[1.0, 1.0, 3.0, 3.0], [0.0, 0.0, 2.0, 2.0], [5.0, 5.0, 6.0, 6.0]])
    expected = torch.tensor([[1 / 7, 1.0, 0.0],  # overlap 1, union 4 + 4 − 1; identical; disjoint
                             [4 / 16, 4 / 16, 0.0]])  # b inside a: area ratio
    torch.testing.assert_close(box_iou(a, b), expected)
    # same centre: (2, 2) vs (4, 1) overlap 2×1 = 2, union 4 + 4 − 2 = 6
    torch.testing.assert_close(wh_iou(torch.tensor([[2.0, 2.0]]), torch.tensor([[4.0, 1.0]])),
                               torch.tensor([[1 / 3]]))


def test_box_format_round_trip() -> None:
    xyxy = torch.tensor([[1.0, 2.0, 5.0, 10.0]])
    torch.testing.assert_close(xyxy_to_cxcywh(xyxy), torch.tensor([[3.0, 6.0, 4.0, 8.0]]))
    torch.testing.assert_close(cxcywh_to_xyxy(xyxy_to_cxcywh(xyxy)), xyxy)


@pytest.mark.parametrize("fpn", [False, True])
def test_encode_then_decode_gives_the_boxes_back(fpn: bool) -> None:
    config = YoloConfig(fpn=fpn, anchors_per_scale=2)
    anchors = torch.tensor([[8.0, 8.0], [12.0, 16.0], [24.0, 24.0], [40.0, 30.0]])[: 2 * len(config.strides)]
    model = YOLO(config, anchors)
    boxes = torch.tensor([[3.0, 5.0, 12.0, 14.0], [30.0, 20.0, 43.0, 35.0], [10.0, 30.0, 50.0, 60.0]])
    labels = torch.tensor([0, 1, 2])
    targets = build_targets([boxes], [labels], model.anchors, config.strides, config.image_size)
    assert sum(int(t.has_object.sum()) for t in targets) == 3
    outputs = []
    for t in targets:  # the raw t that decodes exactly onto each target: t_x = logit(x̂), t_w = ŵ
        raw = torch.full((*t.has_object.shape, 5 + config.num_classes), -20.0)
        raw[..., :2] = torch.logit(t.xy.clamp(1e-6, 1 - 1e-6))
        raw[..., 2:4] = t.wh
        raw[..., 4] = torch.where(t.has_object, 20.0, -20.0)
        raw[..., 5:] = torch.where(torch.nn.functional.one_hot(t.label, config.num_classes).bool()
                                   & t.has_object[..., None], 20.0, -20.0)
        outputs.append(raw)
    decoded, objectness, _ = decode(outputs, model.anchors, config.strides)
    found = decoded[0][objectness[0] > 0.5]  # [3, 4]
    order = found[:, 0].argsort()
    torch.testing.assert_close(found[order], boxes[boxes[:, 0].argsort()], atol=1e-3, rtol=0)


def test_fpn_targets_send_small_boxes_to_the_fine_level() -> None:
    config = YoloConfig(fpn=True, anchors_per_scale=1)
    anchors = torch.tensor([[10.0, 10.0], [30.0, 30.0]])
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [20.0, 20.0, 50.0, 50.0]])
    fine, coarse = build_targets([boxes], [torch.tensor([1, 2])], anchors.view(2, 1, 2), config.strides, 64)
    assert fine.has_object[0, 0, 0, 0] and int(fine.has_object.sum()) == 1  # centre (5, 5), stride 8
    assert coarse.has_object[0, 0, 2, 2] and int(coarse.has_object.sum()) == 1  # centre (35, 35), stride 16
    torch.testing.assert_close(coarse.xy[0, 0, 2, 2], torch.tensor([35 / 16 - 2, 35 / 16 - 2]))
    assert int(coarse.label[0, 0, 2, 2]) == 2


def test_kmeans_recovers_known_clusters() -> None:
    generator = torch.Generator().manual_seed(0)
    centres = torch.tensor([[30.0, 12.0], [4.0, 4.0], [10.0, 20.0]])
    wh = torch.cat([c + 0.2 * torch.randn(50, 2, generator=generator) for c in centres])  # [150, 2]
    anchors = kmeans_anchors(wh, k=3, seed=1)
    torch.testing.assert_close(anchors, centres[centres.prod(-1).argsort()], atol=0.1, rtol=0)  # area order
    assert mean_best_iou(wh, anchors) > 0.95


def test_yolo_loss_one_cell_one_anchor_by_hand() -> None:
    # An 8×8 image is one stride-8 cell; anchor 4×4. Box centre (2, 6), size 8×4 → x̂ = 0.25, ŷ = 0.75,
    # ŵ = log(8/4) = ln 2, ĥ = log(4/4) = 0. Image 2 has no box.
    anchors = torch.tensor([[[4.0, 4.0]]])  # [L=1, B=1, 2]
    boxes = [torch.tensor([[-2.0, 4.0, 6.0, 8.0]]), torch.zeros(0, 4)]
    labels = [torch.tensor([1]), torch.zeros(0, dtype=torch.long)]
    (target,) = build_targets(boxes, labels, anchors, strides=(8,), image_size=8)
    torch.testing.assert_close(target.xy[0, 0, 0, 0], torch.tensor([0.25, 0.75]))
    torch.testing.assert_close(target.wh[0, 0, 0, 0], torch.tensor([LN2, 0.0]))
    assert target.has_object.tolist() == [[[[True]]], [[[False]]]]

    # raw t = (t_x, t_y, t_w, t_h, t_o, t_c0, t_c1); σ(0) = 1/2, σ(ln 3) = 3/4
    t = torch.tensor([[0.0, 0.0, 0.0, 0.0, math.log(3), 0.0, 0.0],
                      [5.0, 5.0, 5.0, 5.0, math.log(3), 9.0, 9.0]]).view(2, 1, 1, 1, 7)
    localisation = (0.5 - 0.25) ** 2 + (0.5 - 0.75) ** 2 + (0 - LN2) ** 2 + 0.0
    object_conf = -math.log(3 / 4)  # BCE(3/4, 1)
    classification = 2 * LN2  # BCE(1/2, 0) + BCE(1/2, 1)
    no_object = -math.log(1 / 4)  # image 2: BCE(3/4, 0); its box and class outputs are ignored
    expected = (5.0 * localisation + object_conf + classification + 0.5 * no_object) / 2
    loss, terms = yolo_loss([t], [target], lambda_coord=5.0, lambda_noobj=0.5)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    assert terms["localisation"] == pytest.approx(localisation / 2, rel=1e-6)
    assert terms["no_object"] == pytest.approx(no_object / 2, rel=1e-6)


def test_per_class_nms_keeps_exactly_the_expected_boxes() -> None:
    boxes = torch.tensor([
        [0.0, 0.0, 10.0, 10.0],  # 0: best of class 0
        [1.0, 1.0, 11.0, 11.0],  # 1: IoU 81/119 ≈ 0.68 with box 0, same class → suppressed
        [1.0, 1.0, 11.0, 11.0],  # 2: same place as 1 but class 1 → kept
        [20.0, 20.0, 30.0, 30.0],  # 3: far away → kept
        [0.0, 0.0, 10.0, 4.0],  # 4: IoU 0.4 with box 0 → kept
        [21.0, 21.0, 31.0, 31.0],  # 5: IoU ≈ 0.68 with box 3 → suppressed
    ])
    scores = torch.tensor([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    labels = torch.tensor([0, 0, 1, 0, 0, 0])
    assert batched_nms(boxes, scores, labels, iou_threshold=0.5).tolist() == [0, 2, 3, 4]
    assert nms(boxes, scores, iou_threshold=0.5).tolist() == [0, 3, 4]  # class-blind: box 2 goes too
    nothing = batched_nms(torch.zeros(0, 4), torch.zeros(0), torch.zeros(0, dtype=torch.long), 0.5)
    assert nothing.tolist() == []


def test_average_precision_all_point_by_hand() -> None:
    # Ranked detections TP, FP, TP, FP, TP against 3 ground truths:
    # recall 1/3, 1/3, 2/3, 2/3, 1; precision 1, 1/2, 2/3, 1/2, 3/5.
    # Envelope: 1 up to recall 1/3, 2/3 up to 2/3, 3/5 up to 1 → AP = (1 + 2/3 + 3/5) / 3 = 34/45.
    recall = torch.tensor([1, 1, 2, 2, 3]) / 3
    precision = torch.tensor([1, 1 / 2, 2 / 3, 1 / 2, 3 / 5])
    assert average_precision(recall, precision) == pytest.approx(34 / 45)


def test_mean_average_precision_tiny_case() -> None:
    truth = [
        (torch.tensor([[0.0, 0.0, 10.0, 10.0], [20.0, 20.0, 30.0, 30.0], [40.0, 0.0, 50.0, 10.0]]),
         torch.tensor([0, 0, 1])),
        (torch.tensor([[5.0, 5.0, 15.0, 15.0]]), torch.tensor([0])),
    ]
    detections = [
        (torch.tensor([[0.0, 0.0, 10.0, 10.0],  # 0.9 TP
                       [20.0, 20.0, 30.0, 30.0],  # 0.7 TP
                       [0.0, 0.0, 10.0, 9.0],  # 0.6 FP: duplicate of an already matched box
                       [40.0, 0.0, 50.0, 10.0]]),  # class 1, 0.3, IoU 1 but the class is wrong → FP
         torch.tensor([0.9, 0.7, 0.6, 0.3]), torch.tensor([0, 0, 0, 2])),
        (torch.tensor([[40.0, 40.0, 50.0, 50.0],  # 0.8 FP: nothing there
                       [5.0, 5.0, 15.0, 15.0]]),  # 0.5 TP
         torch.tensor([0.8, 0.5]), torch.tensor([0, 0])),
    ]
    mean_ap, per_class = mean_average_precision(detections, truth, num_classes=3)
    assert per_class[0] == pytest.approx(34 / 45)  # the TP, FP, TP, FP, TP ranking above
    assert per_class[1] == 0.0  # its only box was never detected as class 1
    assert math.isnan(per_class[2])  # no ground truth: left out of the mean
    assert mean_ap == pytest.approx((34 / 45 + 0.0) / 2)


@pytest.mark.parametrize(("fpn", "shapes"),
                         [(False, [(2, 3, 8, 8, 8)]), (True, [(2, 3, 8, 8, 8), (2, 3, 4, 4, 8)])])
def test_model_output_shapes(fpn: bool, shapes: list[tuple[int, ...]]) -> None:
    config = YoloConfig(fpn=fpn, width=8)
    model = YOLO(config, torch.rand(3 * len(config.strides), 2) * 20 + 5)
    outputs = model(torch.rand(2, 3, 64, 64))
    assert [tuple(o.shape) for o in outputs] == shapes
    boxes, objectness, class_probs = model.decode(outputs)
    anchors_total = sum(3 * s * s for s in config.grid_sizes())  # 192, or 192 + 48 with the FPN level
    assert boxes.shape == (2, anchors_total, 4) and objectness.shape == (2, anchors_total)
    assert class_probs.shape == (2, anchors_total, 3)
    assert len(model.eval().detect(torch.rand(2, 3, 64, 64))) == 2


def test_tiny_overfit_on_two_images() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    dataset = ShapesDataset(2, seed=0)  # 2 + 3 shapes covering all three classes
    images, _, boxes, labels = collate([dataset[0], dataset[1]])
    wh = torch.cat([b[:, 2:] - b[:, :2] for b in boxes])
    config = YoloConfig(width=8, anchors_per_scale=1)
    model = YOLO(config, wh.mean(0, keepdim=True))
    targets = build_targets(boxes, labels, model.anchors, config.strides, config.image_size)
    assert sum(int(t.has_object.sum()) for t in targets) == 5  # no two boxes share a slot
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(150):
        loss, _ = yolo_loss(model(images), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.2  # 0.02-0.03 at the end over three seeds
    found = [tuple(d) for d in model.eval().detect(images)]
    mean_ap, per_class = mean_average_precision(found, list(zip(boxes, labels, strict=True)), config.num_classes)
    assert mean_ap > 0.99 and min(per_class) > 0.99


def test_train_save_load_and_draw_end_to_end(tmp_path) -> None:
    config = DetectionTrainConfig(model=YoloConfig(width=8), batch_size=4, anchor_images=20, eval_images=8,
                                  threads=1)
    metrics = train_detection(0.02, tmp_path / "run", seed=3, config=config)
    assert metrics["steps"] >= 1 and 0.0 <= metrics["mAP@0.5"] <= 1.0
    assert set(metrics["AP@0.5"]) == {"circle", "square", "triangle"}
    model = load_detector(tmp_path / "run" / "model.pt")
    assert model.anchors.shape == (1, 3, 2)
    assert evaluate(model, ShapesDataset(8, seed=4))["mAP@0.5"] >= 0.0
    png = draw_detections(tmp_path / "run" / "model.pt", tmp_path / "pred", num_images=3)
    assert png.name == "detections.png" and png.stat().st_size > 1000
