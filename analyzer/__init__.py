"""`sentivis analyze`: faces and emotions in image and video files, with CSV/JSON, annotated media
and an emotion timeline. Runs the frame pipeline and the face tracker of sentivis/ in-process, or
sends each frame to a running gateway's /api/v1/analyze."""
