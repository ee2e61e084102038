"""FER-2013 training: data, the CNN, the train loop, evaluation, ONNX export, Celery tasks."""
