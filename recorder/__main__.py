"""`python -m recorder`: one recorder replica, until SIGTERM or SIGINT."""
from recorder.service import Recorder
from sentivis.worker import serve

if __name__ == "__main__":
    serve(Recorder)
