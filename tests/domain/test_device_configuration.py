"""What operators set on a device, without a database: names, tags, policies and their order."""

from datetime import UTC, datetime, timedelta

import pytest

from provisio.domain.device import (
    Device,
    DeviceReport,
    PolicyAssignment,
    generated_name,
)
from provisio.domain.errors import InvalidInput, NotFound
from provisio.domain.ids import new_uid
from provisio.domain.recipe import MAX_TAGS

NOW = datetime(2026, 11, 25, tzinfo=UTC)
LATER = NOW + timedelta(minutes=1)


def _device() -> Device:
    return Device(new_uid(), DeviceReport.of("samsung", serial_number="SN-1"), "CODE0000", NOW, NOW)


@pytest.mark.parametrize(
    ("report", "name"),
    [
        (DeviceReport("LG", serial_number="SN-1", mac_addresses=("AA:BB:CC:DD:EE:01",)), "LG SN-1"),
        (
            DeviceReport("android", mac_addresses=("AA:BB:CC:DD:EE:02", "AA:BB:CC:DD:EE:03")),
            "android AA:BB:CC:DD:EE:02",
        ),
        (DeviceReport("linux"), "linux"),
    ],
)
def test_the_generated_name_is_the_brand_and_what_identifies_the_device(
    report: DeviceReport, name: str
) -> None:
    assert generated_name(report) == name


def test_a_given_name_wins_and_the_generated_one_follows_the_report() -> None:
    device = Device(new_uid(), DeviceReport("android", mac_addresses=()), "CODE0000", NOW, NOW)
    assert device.name == "android"
    device.registered(
        DeviceReport.of("android", mac_addresses=["aabbccddee01"]), ["AA:BB:CC:DD:EE:01"], NOW
    )
    assert device.name == "android AA:BB:CC:DD:EE:01"
    device.rename(" Lobby ", LATER)
    assert (device.name, device.updated_at) == ("Lobby", LATER)


def test_a_change_to_what_is_already_set_changes_nothing() -> None:
    device = _device()
    tag, location, policy = new_uid(), new_uid(), new_uid()
    device.rename("Lobby", NOW)
    device.add_tag(tag, NOW)
    device.assign_location(location, NOW)
    device.assign_policy(policy, 3, NOW)
    configuration = device.configuration

    device.rename("Lobby", LATER)
    device.add_tag(tag, LATER)
    device.assign_location(location, LATER)
    assert device.assign_policy(policy, 3, LATER) is False

    assert (device.configuration, device.updated_at) == (configuration, NOW)


def test_a_device_has_at_most_as_many_tags_as_a_recipe() -> None:
    device = _device()
    tags = [new_uid() for _ in range(MAX_TAGS)]
    for tag in tags:
        device.add_tag(tag, NOW)
    device.add_tag(tags[0], NOW)  # one it has: nothing to add
    with pytest.raises(InvalidInput) as refused:
        device.add_tag(new_uid(), NOW)
    assert [problem.field for problem in refused.value.details] == ["tagUid"]
    assert device.configuration.tag_uids == tuple(tags)


def test_policies_are_kept_by_priority_then_assignment_time() -> None:
    device = _device()
    first, second, third = new_uid(), new_uid(), new_uid()
    assert device.assign_policy(first, 2, NOW) is True
    assert device.assign_policy(second, 1, LATER) is True
    assert device.assign_policy(third, 2, NOW - timedelta(minutes=1)) is True
    assert [p.policy_uid for p in device.configuration.policies] == [second, third, first]

    assert device.assign_policy(first, 0, LATER + timedelta(minutes=1)) is False

    assert device.configuration.policies[0] == PolicyAssignment(first, 0, NOW)
    device.unassign_policy(third, LATER)
    assert [p.policy_uid for p in device.configuration.policies] == [first, second]
    for missing in (third, new_uid()):
        with pytest.raises(NotFound):
            device.unassign_policy(missing, LATER)
        with pytest.raises(NotFound):
            device.policy(missing)


def test_removing_what_the_device_does_not_have_is_not_found() -> None:
    device = _device()
    location = new_uid()
    with pytest.raises(NotFound):
        device.unassign_location(None, LATER)
    with pytest.raises(NotFound):
        device.remove_tag(new_uid(), LATER)
    device.assign_location(location, NOW)
    with pytest.raises(NotFound):
        device.unassign_location(new_uid(), LATER)
    device.unassign_location(location, LATER)
    assert (device.configuration.location_uid, device.updated_at) == (None, LATER)
