"""Token bucket, per-address counter, token checks and the exposure rule, as plain objects."""
import pytest

from gateway.auth import ExposureRefused, bearer, check_exposure, connect_token, is_loopback, token_matches
from gateway.limits import AddressLimiter, TokenBucket
from sentivis.settings import Settings, settings_from_env


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_token_bucket_allows_a_one_second_burst_then_the_rate():
    clock = Clock()
    bucket = TokenBucket(10, clock=clock)
    assert sum(bucket.take() for _ in range(50)) == 10  # the burst, then nothing
    clock.now += 0.5
    assert sum(bucket.take() for _ in range(50)) == 5  # half a second refills five
    clock.now += 60
    assert sum(bucket.take() for _ in range(50)) == 10  # saved-up tokens are capped at the burst


def test_token_bucket_with_rate_zero_never_limits():
    bucket = TokenBucket(0, clock=Clock())
    assert all(bucket.take() for _ in range(10_000))


def test_address_limiter_counts_per_address_and_releases():
    limiter = AddressLimiter(2)
    assert limiter.acquire("10.0.0.1") and limiter.acquire("10.0.0.1")
    assert not limiter.acquire("10.0.0.1")
    assert limiter.acquire("10.0.0.2")
    limiter.release("10.0.0.1")
    assert limiter.count("10.0.0.1") == 1
    assert limiter.acquire("10.0.0.1")
    assert AddressLimiter(0).acquire("x") and AddressLimiter(0).acquire("x")


def test_tokens_are_read_from_auth_query_or_header_and_compared_exactly():
    assert connect_token({"token": "a"}, {}) == "a"
    assert connect_token(None, {"QUERY_STRING": "EIO=4&token=b&transport=websocket"}) == "b"
    assert connect_token(None, {"HTTP_AUTHORIZATION": "Bearer c"}) == "c"
    assert connect_token("not a dict", {}) is None
    assert bearer("Basic abc") is None
    assert token_matches("secret", "secret")
    assert not token_matches("secret", "secreT")
    assert not token_matches("secret", None)
    assert not token_matches("secret", ["secret"])


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("::1", True), ("localhost", True),
                                            ("0.0.0.0", False), ("", False), ("192.168.1.5", False),
                                            ("example.org", False)])
def test_loopback_hosts(host, loopback):
    assert is_loopback(host) is loopback


def test_a_public_address_without_a_token_is_refused_unless_allowed():
    with pytest.raises(ExposureRefused, match="SENTIVIS_AUTH_TOKEN"):
        check_exposure(Settings(gateway_host="0.0.0.0"))
    check_exposure(Settings(gateway_host="0.0.0.0", auth_token="t" * 32))
    check_exposure(Settings(gateway_host="0.0.0.0", allow_unauthenticated=1))
    check_exposure(Settings())  # the default host is loopback


def test_limits_are_settings():
    s = settings_from_env({"SENTIVIS_MAX_FRAMES_PER_SECOND": "12.5", "SENTIVIS_MAX_CONNECTIONS_PER_ADDRESS": "3",
                           "SENTIVIS_AUTH_TOKEN": "x", "SENTIVIS_ALLOW_UNAUTHENTICATED": "1"})
    assert (s.max_frames_per_second, s.max_connections_per_address, s.auth_token, s.allow_unauthenticated) == \
        (12.5, 3, "x", 1)
