"""The client's address behind trusted proxies (gateway/proxies.py), with a fake resolver and clock."""
import pytest

from gateway.proxies import NAME_TTL_S, TrustedProxies


def environ(peer: str, forwarded: str | None = None) -> dict:
    env = {"REMOTE_ADDR": peer}
    if forwarded is not None:
        env["HTTP_X_FORWARDED_FOR"] = forwarded
    return env


def test_without_trusted_proxies_the_header_is_ignored():
    proxies = TrustedProxies(())
    assert proxies.client_address(environ("203.0.113.7", "198.51.100.1")) == "203.0.113.7"


def test_a_client_that_is_not_a_trusted_proxy_gets_nothing_from_a_forged_header():
    proxies = TrustedProxies(("10.0.0.0/8",))
    assert proxies.client_address(environ("203.0.113.7", "198.51.100.1, 10.0.0.5")) == "203.0.113.7"


def test_behind_a_trusted_proxy_the_address_it_saw_counts():
    proxies = TrustedProxies(("10.0.0.2",))
    assert proxies.client_address(environ("10.0.0.2", "198.51.100.1")) == "198.51.100.1"


def test_a_client_cannot_pass_for_another_by_starting_the_header_itself():
    # nginx appends the address it saw; whatever the client wrote stands to its left and is not read.
    proxies = TrustedProxies(("10.0.0.2",))
    assert proxies.client_address(environ("10.0.0.2", "1.2.3.4, 198.51.100.1")) == "198.51.100.1"


def test_a_chain_of_trusted_proxies_is_walked_from_the_right():
    proxies = TrustedProxies(("10.0.0.0/8", "192.168.1.1"))
    env = environ("10.0.0.2", "1.2.3.4, 198.51.100.9, 192.168.1.1, 10.1.2.3")
    assert proxies.client_address(env) == "198.51.100.9"


def test_when_every_hop_is_trusted_the_leftmost_counts():
    proxies = TrustedProxies(("10.0.0.0/8",))
    assert proxies.client_address(environ("10.0.0.2", "10.0.0.9, 10.0.0.3")) == "10.0.0.9"


def test_unreadable_and_odd_entries():
    proxies = TrustedProxies(("10.0.0.2", "2001:db8::1"))
    assert proxies.client_address(environ("10.0.0.2", "garbage, 198.51.100.1:4711")) == "198.51.100.1"
    assert proxies.client_address(environ("10.0.0.2", "[2001:db8::5]:443")) == "2001:db8::5"
    assert proxies.client_address(environ("2001:db8::1", "198.51.100.3")) == "198.51.100.3"
    assert proxies.client_address(environ("::ffff:10.0.0.2", "198.51.100.4")) == "198.51.100.4"
    assert proxies.client_address(environ("10.0.0.2", "")) == "10.0.0.2"
    assert proxies.client_address(environ("10.0.0.2", "not-an-address")) == "10.0.0.2"
    assert proxies.client_address({}) == "unknown"


def test_a_host_name_is_resolved_when_needed_and_followed_as_it_changes():
    now = [0.0]
    answers = {"frontend": {"172.20.0.5"}}
    lookups = []

    def resolve(name):
        lookups.append(name)
        return answers[name]

    proxies = TrustedProxies(("frontend",), resolve=resolve, clock=lambda: now[0])
    assert proxies.client_address(environ("172.20.0.5", "198.51.100.1")) == "198.51.100.1"
    assert proxies.client_address(environ("172.20.0.5", "198.51.100.2")) == "198.51.100.2"
    assert lookups == ["frontend"]  # remembered
    answers["frontend"] = {"172.20.0.9"}  # the proxy was replaced
    assert proxies.client_address(environ("172.20.0.9", "198.51.100.1")) == "172.20.0.9"  # not yet known
    now[0] += NAME_TTL_S
    assert proxies.client_address(environ("172.20.0.9", "198.51.100.1")) == "198.51.100.1"
    assert proxies.client_address(environ("172.20.0.5", "198.51.100.1")) == "172.20.0.5"  # no longer trusted


@pytest.mark.parametrize("entry", ["", "a b", "10.0.0.0/33x", "user@host"])
def test_a_setting_that_names_nothing_is_refused(entry):
    with pytest.raises(ValueError, match="SENTIVIS_TRUSTED_PROXIES"):
        TrustedProxies((entry,))
