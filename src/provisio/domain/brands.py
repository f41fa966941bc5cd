"""Which identifiers each device brand needs before a recipe for it is accepted."""

from collections.abc import Mapping
from enum import StrEnum

from provisio.domain.errors import InvalidInput
from provisio.domain.identifiers import brand_key


class Requirement(StrEnum):
    SERIAL_NUMBER = "serialNumber"
    MAC_ADDRESS = "macAddress"


DEFAULT_BRAND_RULES: Mapping[str, Requirement] = {
    "samsung": Requirement.SERIAL_NUMBER,
    "lg": Requirement.SERIAL_NUMBER,
    "philips": Requirement.SERIAL_NUMBER,
    "sony": Requirement.SERIAL_NUMBER,
    "brightsign": Requirement.SERIAL_NUMBER,
    "android": Requirement.MAC_ADDRESS,
    "linux": Requirement.MAC_ADDRESS,
    "windows": Requirement.MAC_ADDRESS,
    "raspberrypi": Requirement.MAC_ADDRESS,
}


class BrandRules:
    """The brand table; configuration may add brands or override the defaults."""

    def __init__(self, overrides: Mapping[str, Requirement] | None = None) -> None:
        self._rules = {
            brand_key(k): v for k, v in {**DEFAULT_BRAND_RULES, **(overrides or {})}.items()
        }

    @property
    def brands(self) -> list[str]:
        """The brands the table knows, in alphabetical order."""
        return sorted(self._rules)

    def requirement(self, brand: str) -> Requirement | None:
        """The identifier `brand` needs; None for a brand the table does not know (it needs at
        least one of the two)."""
        return self._rules.get(brand_key(brand))

    def check(self, brand: str, serial_number: str | None, mac_address: str | None) -> None:
        """Raise InvalidInput naming the missing identifier field."""
        need = self.requirement(brand)
        if need is Requirement.SERIAL_NUMBER and serial_number is None:
            raise InvalidInput.of("serialNumber", f"is required for brand {brand!r}")
        if need is Requirement.MAC_ADDRESS and mac_address is None:
            raise InvalidInput.of("macAddress", f"is required for brand {brand!r}")
        if need is None and serial_number is None and mac_address is None:
            raise InvalidInput.of(
                "serialNumber", "serialNumber or macAddress is required for this brand"
            )
