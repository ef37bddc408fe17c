"""Clients of LandingEdge and LandingLens inference servers.

A reimplementation of the public `landingai.predict` API (same names, arguments,
wire format and prediction types) with timeouts, a bounded retry policy, BGR
input and per-call timings. See docs/predict.md for the differences.
"""

from streamer.predict._credentials import load_api_credential
from streamer.predict._models import (
    ClassificationPrediction,
    InferenceMetadata,
    ObjectDetectionPrediction,
    OcrPrediction,
    Prediction,
    SegmentationPrediction,
    decode_bitmap_rle,
)
from streamer.predict._predictors import EdgePredictor, OcrPredictor, Predictor
from streamer.predict._retry import RetryPolicy
from streamer.predict._serialize import serialize_image, serialize_rois

__all__ = [
    "ClassificationPrediction",
    "EdgePredictor",
    "InferenceMetadata",
    "ObjectDetectionPrediction",
    "OcrPrediction",
    "OcrPredictor",
    "Prediction",
    "Predictor",
    "RetryPolicy",
    "SegmentationPrediction",
    "decode_bitmap_rle",
    "load_api_credential",
    "serialize_image",
    "serialize_rois",
]
