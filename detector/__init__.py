"""The detector service: JPEG frames -> MediaPipe face boxes -> 48x48 grey crops (sentivis/faces.py)."""
