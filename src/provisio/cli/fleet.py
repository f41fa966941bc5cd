"""A made-up, realistic fleet as recipe rows: unique identifiers, the same rows for the same seed.

Brands that need a serial number (samsung, lg, …) get one in their maker's style; brands that need
a MAC address (android, raspberrypi, …) get one under a real vendor prefix (OUI) of that kind of
device, so every row passes the server's default brand rules (a test keeps the two in step).
"""

import random
import string
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

HEADER = ("brand", "model", "serialNumber", "macAddress", "deviceName")

_UPPER_DIGITS = string.ascii_uppercase + string.digits


def _chars(alphabet: str, length: int) -> Callable[[random.Random], str]:
    return lambda rng: "".join(rng.choice(alphabet) for _ in range(length))


def _samsung(rng: random.Random) -> str:  # e.g. 0B4N3CAM400123X
    return "0" + _chars(_UPPER_DIGITS, 6)(rng) + f"{rng.randrange(10**7):07d}" + rng.choice("ABX")


def _lg(rng: random.Random) -> str:  # e.g. 208MXQA1C234
    return f"{rng.randrange(200, 312)}" + _chars(string.ascii_uppercase, 4)(rng) + _digits(5)(rng)


def _digits(length: int) -> Callable[[random.Random], str]:
    return _chars(string.digits, length)


@dataclass(frozen=True)
class BrandProfile:
    """How often a brand appears, its models, and its identifier: a serial or a MAC prefix."""

    weight: int
    models: Sequence[str]
    serial: Callable[[random.Random], str] | None = None
    mac_prefixes: Sequence[str] = ()


BRANDS: dict[str, BrandProfile] = {
    "samsung": BrandProfile(24, ("QM55R", "QB65R", "QM43B", "QH75B"), serial=_samsung),
    "lg": BrandProfile(16, ("55UH5F", "49XS4F", "43UM3DG"), serial=_lg),
    "philips": BrandProfile(
        8, ("10BDL4551T", "55BDL4050D"), serial=lambda r: "FZ1A" + _digits(10)(r)
    ),
    "sony": BrandProfile(4, ("FW-55BZ35L", "FW-65BZ40L"), serial=_digits(7)),
    "brightsign": BrandProfile(
        8,
        ("XD1035", "HD225", "LS445"),
        serial=lambda r: (
            _chars("ABCDEFGHJKLMNPRSTUVWXYZ", 2)(r) + _chars("0123456789ABCDEF", 10)(r)
        ),
    ),
    "android": BrandProfile(
        18,
        ("Philips 10BDL4551T", "iiyama TF1015MC", "Sunmi D2s"),
        mac_prefixes=("A4:34:F1", "F4:F5:DB", "00:1A:11"),
    ),
    "raspberrypi": BrandProfile(
        14,
        ("Raspberry Pi 4 Model B", "Raspberry Pi 5"),
        mac_prefixes=("DC:A6:32", "E4:5F:01", "D8:3A:DD", "2C:CF:67"),
    ),
    "linux": BrandProfile(
        5, ("Intel NUC 13 Pro", "ASUS PN42"), mac_prefixes=("1C:69:7A", "48:21:0B")
    ),
    "windows": BrandProfile(
        3, ("Dell OptiPlex 7010 Micro", "Lenovo M70q"), mac_prefixes=("B0:83:FE", "54:EE:75")
    ),
}

_PLACES = (
    "Lisbon",
    "Prague",
    "Austin",
    "Osaka",
    "Lyon",
    "Porto",
    "Brno",
    "Denver",
    "Leeds",
    "Turin",
)
_SPOTS = (
    "Entrance",
    "Checkout",
    "Lobby",
    "Menu board",
    "Window",
    "Meeting room",
    "Corridor",
    "Bar",
)


def brand_names() -> list[str]:
    return list(BRANDS)


def fleet_rows(
    count: int, *, seed: int = 1, brands: Sequence[str] = ()
) -> Iterator[tuple[str, ...]]:
    """`count` recipe rows (see HEADER) of the given brands (default: all), unique identifiers."""
    names = list(brands) or brand_names()
    weights = [BRANDS[name].weight for name in names]
    rng = random.Random(seed)
    serials: set[tuple[str, str]] = set()
    macs: set[str] = set()
    for index in range(1, count + 1):
        brand = rng.choices(names, weights)[0]
        profile = BRANDS[brand]
        serial = mac = ""
        if profile.serial is not None:
            serial = _unique_serial(rng, profile.serial, brand, serials)
        else:
            mac = _unique_mac(rng, profile.mac_prefixes, macs)
        place = _PLACES[rng.randrange(len(_PLACES))]
        spot = _SPOTS[rng.randrange(len(_SPOTS))]
        name = f"{place} {spot} {index:04d}"
        yield brand, rng.choice(profile.models), serial, mac, name


def _unique_serial(
    rng: random.Random, make: Callable[[random.Random], str], brand: str, seen: set[tuple[str, str]]
) -> str:
    while True:
        value = make(rng)
        if (brand, value.upper()) not in seen:
            seen.add((brand, value.upper()))
            return value


def _unique_mac(rng: random.Random, prefixes: Sequence[str], seen: set[str]) -> str:
    while True:
        suffix = ":".join(f"{rng.randrange(256):02X}" for _ in range(3))
        mac = f"{rng.choice(prefixes)}:{suffix}"
        if mac not in seen:
            seen.add(mac)
            return mac
