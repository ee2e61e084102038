"""The real gateway process (`python -m gateway`) on a free port, against the test's Redis."""
import pytest

from toolkit.processes import Service, free_port, wait_http


@pytest.fixture
def start_gateway(redis_url, tmp_path):
    """start_gateway(wait=True, **env) -> (url, service): a gateway with these SENTIVIS_* settings,
    answering /healthz unless wait=False; stopped after the test."""
    services = []

    def start(wait=True, **env):
        port = free_port()
        service = Service("gateway", {"SENTIVIS_REDIS_URL": redis_url, "SENTIVIS_GATEWAY_PORT": str(port), **env},
                          tmp_path).start()
        services.append(service)
        url = f"http://127.0.0.1:{port}"
        if wait:
            try:
                wait_http(url + "/healthz")
            except TimeoutError:
                raise AssertionError(service.log()) from None
        return url, service

    yield start
    for service in services:
        service.stop()
