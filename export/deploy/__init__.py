"""The deployment side: ONNX Runtime sessions (``runtime``) and the manifest's input
preprocessing (``preprocess``). Imports neither MXNet nor the converter."""
