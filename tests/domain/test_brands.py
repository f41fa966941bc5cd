import pytest

from provisio.domain.brands import BrandRules, Requirement
from provisio.domain.errors import InvalidInput


@pytest.mark.parametrize("brand", ["samsung", "LG", "Philips", "sony", "brightsign"])
def test_display_brands_need_a_serial_number(brand: str) -> None:
    rules = BrandRules()
    rules.check(brand, "SN-1", None)
    with pytest.raises(InvalidInput) as caught:
        rules.check(brand, None, "AA:BB:CC:DD:EE:FF")
    assert caught.value.details[0].field == "serialNumber"


@pytest.mark.parametrize("brand", ["android", "Linux", "windows", "raspberrypi"])
def test_computer_brands_need_a_mac_address(brand: str) -> None:
    rules = BrandRules()
    rules.check(brand, None, "AA:BB:CC:DD:EE:FF")
    with pytest.raises(InvalidInput) as caught:
        rules.check(brand, "SN-1", None)
    assert caught.value.details[0].field == "macAddress"


def test_unknown_brands_need_at_least_one_identifier() -> None:
    rules = BrandRules()
    rules.check("acme", "SN-1", None)
    rules.check("acme", None, "AA:BB:CC:DD:EE:FF")
    with pytest.raises(InvalidInput):
        rules.check("acme", None, None)


def test_configuration_adds_and_overrides_brands() -> None:
    rules = BrandRules({"Acme": Requirement.MAC_ADDRESS, "samsung": Requirement.MAC_ADDRESS})
    with pytest.raises(InvalidInput):
        rules.check("acme", "SN-1", None)
    rules.check("samsung", None, "AA:BB:CC:DD:EE:FF")


def test_the_table_lists_its_brands_and_what_each_needs() -> None:
    rules = BrandRules({"Acme": Requirement.MAC_ADDRESS})
    assert rules.brands == sorted(rules.brands)
    assert {"acme", "samsung", "raspberrypi"} <= set(rules.brands)
    assert rules.requirement(" Samsung ") is Requirement.SERIAL_NUMBER
    assert rules.requirement("ACME") is Requirement.MAC_ADDRESS
    assert rules.requirement("nobody-knows") is None
