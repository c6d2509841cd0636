"""Client addresses and key functions, without a framework."""

from __future__ import annotations

import pytest

from mic.http import HttpRequestContext, Identity
from mic.ratelimit import PerIp, TrustedProxies, per_identity, per_ip

PROXIES = TrustedProxies(("10.0.0.0/8", "::1"))


def context(peer: str | None, forwarded: list[str] | None = None) -> HttpRequestContext:
    headers = [("x-forwarded-for", value) for value in forwarded or []]
    client = (peer, 1234) if peer is not None else None
    return HttpRequestContext(method="GET", path="/", headers=headers, client=client)


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.1", ["9.9.9.9"], "203.0.113.1"),  # untrusted peer: header ignored
        ("10.0.0.1", [], "10.0.0.1"),  # trusted peer, no header: the peer itself
        ("10.0.0.1", ["9.9.9.9, 198.51.100.7"], "198.51.100.7"),
        ("10.0.0.1", ["198.51.100.7, 10.0.0.2"], "198.51.100.7"),  # skips trusted hops
        ("10.0.0.1", ["9.9.9.9", "198.51.100.7, 10.0.0.2"], "198.51.100.7"),  # repeated headers
        ("10.0.0.1", ["10.0.0.3, 10.0.0.2"], "10.0.0.3"),  # all trusted: the leftmost
        ("10.0.0.1", ["198.51.100.7, garbage, 10.0.0.2"], "10.0.0.2"),  # stops at garbage
        ("::1", ["2001:db8::5"], "2001:db8::5"),
        (None, ["9.9.9.9"], None),
        ("not-an-ip", ["9.9.9.9"], "not-an-ip"),
    ],
)
def test_client_ip_believes_only_trusted_proxies(
    peer: str | None, forwarded: list[str], expected: str | None
) -> None:
    assert PROXIES.client_ip(context(peer, forwarded)) == expected


def test_trusted_proxies_can_read_another_header() -> None:
    proxies = TrustedProxies(("10.0.0.1",), header="X-Real-IP")
    ctx = HttpRequestContext(
        method="GET", path="/", headers=[("x-real-ip", "198.51.100.7")], client=("10.0.0.1", 1)
    )
    assert proxies.client_ip(ctx) == "198.51.100.7"


@pytest.mark.parametrize(
    ("networks", "error", "message"),
    [
        ("10.0.0.0/8", TypeError, "must be a tuple"),
        (("10.0.0.0/33",), ValueError, "invalid trusted proxy network"),
        ((), ValueError, "at least one proxy"),
    ],
)
def test_bad_proxy_settings_are_refused(
    networks: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        TrustedProxies(networks)  # type: ignore[arg-type]


def test_ipv6_clients_are_grouped_by_prefix() -> None:
    ctx = context("2001:db8::1")
    assert (
        per_ip(ctx, "2001:db8:0:0:aaaa::1") == per_ip(ctx, "2001:db8::ffff") == "ip:2001:db8::/64"
    )
    assert per_ip(ctx, "2001:db8:0:1::1") != per_ip(ctx, "2001:db8::1")
    assert PerIp(ipv6_prefix=128)(ctx, "2001:db8::1") == "ip:2001:db8::1"
    assert per_ip(ctx, "192.0.2.1") == "ip:192.0.2.1"
    assert per_ip(ctx, "unknown") == "ip:unknown"


@pytest.mark.parametrize("prefix", [0, 129])
def test_bad_ipv6_prefixes_are_refused(prefix: int) -> None:
    with pytest.raises(ValueError, match="ipv6_prefix must be an integer between 1 and 128"):
        PerIp(ipv6_prefix=prefix)


def test_identity_keys_name_kind_and_subject() -> None:
    ctx = context("192.0.2.1")
    assert per_identity(ctx, "192.0.2.1") == "ip:192.0.2.1"
    ctx.identity = Identity(subject="orders", kind="service")
    assert per_identity(ctx, "192.0.2.1") == "id:service:orders"


# --- Review regressions: addresses as proxies and dual-stack sockets write them ---------


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        # Proxies that append the client's port (and bracket IPv6) still name the client,
        # instead of the walk stopping at the proxy and every client sharing its budget.
        ("10.0.0.1", ["198.51.100.7:4711, 10.0.0.2"], "198.51.100.7"),
        ("10.0.0.1", ["[2001:db8::5]:4711"], "2001:db8::5"),
        ("10.0.0.1", ["[2001:db8::5]"], "2001:db8::5"),
        ("10.0.0.1", ["10.0.0.9:80"], "10.0.0.9"),  # a trusted hop with a port is skipped
        # A dual-stack socket reports IPv4 peers as IPv4-mapped IPv6 addresses.
        ("::ffff:10.0.0.1", ["198.51.100.7"], "198.51.100.7"),
        ("10.0.0.1", ["::ffff:198.51.100.7"], "198.51.100.7"),
        ("::ffff:203.0.113.1", ["9.9.9.9"], "203.0.113.1"),  # untrusted: header ignored
        # Malformed entries stop the walk at the last vouched-for address.
        ("10.0.0.1", ["[2001:db8::5"], "10.0.0.1"),
        ("10.0.0.1", ["198.51.100.7, , 10.0.0.2"], "10.0.0.2"),
        ("10.0.0.1", ["unknown"], "10.0.0.1"),
        ("10.0.0.1", ["1.2.3.4.5"], "10.0.0.1"),
    ],
)
def test_client_ip_reads_ports_brackets_and_mapped_addresses(
    peer: str, forwarded: list[str], expected: str
) -> None:
    assert PROXIES.client_ip(context(peer, forwarded)) == expected


def test_ipv4_mapped_clients_keep_separate_budgets() -> None:
    """Each IPv4 client behind a dual-stack socket is its own key, not one shared ::/64."""
    ctx = context("::ffff:203.0.113.5")
    assert per_ip(ctx, "::ffff:203.0.113.5") == "ip:203.0.113.5"
    assert per_ip(ctx, "::ffff:198.51.100.1") == "ip:198.51.100.1"


@pytest.mark.parametrize("header", ["", "x forwarded for", "x-forwarded-for\r\n"])
def test_a_header_that_cannot_be_a_field_name_is_refused(header: str) -> None:
    with pytest.raises(ValueError, match="header must be an HTTP field name"):
        TrustedProxies(("10.0.0.1",), header=header)


@pytest.mark.parametrize("prefix", [True, 64.5, "64"])
def test_ipv6_prefixes_must_be_integers(prefix: object) -> None:
    with pytest.raises(ValueError, match="ipv6_prefix must be an integer"):
        PerIp(ipv6_prefix=prefix)  # type: ignore[arg-type]


def test_is_trusted_reads_addresses_as_proxies_write_them() -> None:
    assert PROXIES.is_trusted("10.1.2.3:8080")
    assert PROXIES.is_trusted("::ffff:10.1.2.3")
    assert PROXIES.is_trusted("[::1]:443")
    assert not PROXIES.is_trusted("203.0.113.1")
    assert not PROXIES.is_trusted("not-an-ip")
