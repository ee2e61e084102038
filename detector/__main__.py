"""`python -m detector`: one detector replica, until SIGTERM or SIGINT."""
from detector.service import DetectorService
from sentivis.worker import serve

if __name__ == "__main__":
    serve(DetectorService)
