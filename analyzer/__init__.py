"""`sentivis analyze`: faces and emotions in image and video files, with CSV/JSON, annotated media
and an emotion timeline. Runs the detector, classifier and tracker code in-process, or sends each
frame to a running gateway's /api/v1/analyze."""
