"""Emotion labels in FER-2013 order; the model's output columns follow this order."""

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
NUM_EMOTIONS = len(EMOTIONS)
