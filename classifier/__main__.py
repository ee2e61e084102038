"""`python -m classifier`: one classifier replica; SIGTERM or Ctrl-C stops it after the current batch."""
from classifier.service import ClassifierService
from sentivis.worker import serve

if __name__ == "__main__":
    serve(ClassifierService)
