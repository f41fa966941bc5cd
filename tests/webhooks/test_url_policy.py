import ipaddress

import pytest

from provisio.webhooks.url_policy import UnsafeWebhookUrl, UrlPolicy, parse_networks

STRICT = UrlPolicy()


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/x",
        "ftp://hooks.example.com/x",
        "https:///no-host",
        "https://user:pw@hooks.example.com/",
        "https://hooks.example.com:99999/",
        "not a url",
    ],
)
def test_only_plain_https_urls_pass(url: str) -> None:
    with pytest.raises(UnsafeWebhookUrl):
        STRICT.check_url(url)


def test_https_urls_yield_host_and_port() -> None:
    assert STRICT.check_url("https://Hooks.Example.com/p?q=1") == ("hooks.example.com", 443)
    assert STRICT.check_url("https://hooks.example.com:8443/") == ("hooks.example.com", 8443)
    assert UrlPolicy(allow_http=True).check_url("http://hooks.example.com/") == (
        "hooks.example.com",
        80,
    )


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "100.100.100.200",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd00:ec2::254",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "2001:db8::1",
    ],
)
async def test_internal_addresses_are_refused(address: str) -> None:
    with pytest.raises(UnsafeWebhookUrl):
        STRICT.check_address(ipaddress.ip_address(address))
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(UnsafeWebhookUrl):
        await STRICT.resolve(f"https://{host}/hook")


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    STRICT.check_address(ipaddress.ip_address(address))


async def test_names_are_resolved_and_every_address_checked() -> None:
    with pytest.raises(UnsafeWebhookUrl, match="not a public address"):
        await STRICT.resolve("https://localhost/hook")


async def test_allowed_networks_relax_the_rule_for_tests() -> None:
    policy = UrlPolicy(allow_http=True, allowed_networks=parse_networks("127.0.0.0/8, ::1/128"))
    assert await policy.resolve("http://127.0.0.1:9000/hook") == [ipaddress.ip_address("127.0.0.1")]
    with pytest.raises(UnsafeWebhookUrl):
        await policy.resolve("http://10.0.0.1/hook")


def test_bad_network_lists_are_reported() -> None:
    with pytest.raises(ValueError, match="ALLOWED_NETWORKS"):
        parse_networks("127.0.0.0/8,nonsense")
