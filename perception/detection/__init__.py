"""YOLO-style single-shot object detection on the synthetic shapes, written without torchvision.

- ``boxes``: box formats, IoU, per-class non-maximum suppression.
- ``anchors``: anchor priors by k-means with ``1 − IoU`` distance (YOLO9000).
- ``yolo``: backbone → optional FPN neck → per-scale head, and the ``σ``/``exp`` box decoding.
- ``loss``: target assignment and the YOLO loss (λ_coord = 5, λ_noobj = 0.5).
- ``metrics``: mAP@0.5 with VOC all-point interpolation.
- ``train`` / ``predict``: ``train_detection`` and ``draw_detections``, behind ``python -m perception.train
  detection`` and ``python -m perception.predict detection``.
"""
