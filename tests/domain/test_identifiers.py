import pytest
from hypothesis import given
from hypothesis import strategies as st

from provisio.domain.errors import InvalidInput
from provisio.domain.identifiers import brand_key, canonical_mac, clean_serial, serial_key

HEX = "0123456789abcdef"


@pytest.mark.parametrize(
    "raw",
    [
        "aa:bb:cc:dd:ee:0f",
        "AA-BB-CC-DD-EE-0F",
        "aabb.ccdd.ee0f",
        "AABBCCDDEE0F",
        " aa:bb:cc:dd:ee:0f ",
    ],
)
def test_every_accepted_mac_form_is_stored_canonical(raw: str) -> None:
    assert canonical_mac(raw) == "AA:BB:CC:DD:EE:0F"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "aa:bb:cc:dd:ee",
        "aa:bb:cc:dd:ee:ff:00",
        "gg:bb:cc:dd:ee:ff",
        "aa:bb-cc:dd:ee:ff",
        "aabb.ccdd.eef",
        "aa bb cc dd ee ff",
    ],
)
def test_malformed_macs_are_refused_naming_the_field(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        canonical_mac(raw)
    assert [p.field for p in caught.value.details] == ["macAddress"]


@given(
    st.text(alphabet=HEX + HEX.upper(), min_size=12, max_size=12),
    st.sampled_from([":", "-", ".", ""]),
)
def test_canonical_mac_is_independent_of_the_written_form(digits: str, form: str) -> None:
    if form == ".":
        raw = ".".join(digits[i : i + 4] for i in range(0, 12, 4))
    else:
        raw = form.join(digits[i : i + 2] for i in range(0, 12, 2))
    canonical = canonical_mac(raw)
    assert canonical == ":".join(digits[i : i + 2] for i in range(0, 12, 2)).upper()
    assert canonical_mac(canonical) == canonical


def test_serials_are_trimmed_and_matched_case_insensitively() -> None:
    assert clean_serial("  SN-1 ") == "SN-1"
    assert serial_key(" sn-1") == serial_key("SN-1 ")
    with pytest.raises(InvalidInput):
        clean_serial("   ")


def test_brands_match_case_insensitively() -> None:
    assert brand_key("Samsung") == brand_key("SAMSUNG ") == "samsung"
