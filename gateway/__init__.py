"""The Socket.IO gateway: browser connections, REST API, face tracking, serving the frontend."""
