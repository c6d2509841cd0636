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
    with pytest.raises(ValueError, match="ipv6_prefix must be between 1 and 128"):
        PerIp(ipv6_prefix=prefix)


def test_identity_keys_name_kind_and_subject() -> None:
    ctx = context("192.0.2.1")
    assert per_identity(ctx, "192.0.2.1") == "ip:192.0.2.1"
    ctx.identity = Identity(subject="orders", kind="service")
    assert per_identity(ctx, "192.0.2.1") == "id:service:orders"
