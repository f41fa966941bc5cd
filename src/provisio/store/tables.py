"""The relational schema, shared by both engines (Alembic migrations create it)."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    text,
)
from sqlalchemy.engine import Dialect

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Serial = BigInteger().with_variant(Integer(), "sqlite")
"""An auto-incrementing key: SQLite only auto-increments INTEGER PRIMARY KEY."""


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on both engines (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _where(predicate: str) -> dict[str, Any]:
    """The dialect options that make an index partial on both engines."""
    return {"sqlite_where": text(predicate), "postgresql_where": text(predicate)}


def _partial(name: str, *columns: str, where: str, unique: bool = False) -> Index:
    """An index over the rows matching `where`, on both engines."""
    return Index(name, *columns, unique=unique, **_where(where))


def _uid(name: str, *args: Any, **kwargs: Any) -> Column[str]:
    return Column(name, String(32), *args, **kwargs)


def _created() -> Column[datetime]:
    return Column("created_at", UTCDateTime(), nullable=False)


companies = Table(
    "companies",
    metadata,
    _uid("uid", primary_key=True),
    Column("name", String(255), nullable=False),
    _created(),
)

organizations = Table(
    "organizations",
    metadata,
    _uid("uid", primary_key=True),
    _uid("company_uid", ForeignKey("companies.uid"), nullable=False, index=True),
    Column("name", String(255), nullable=False),
    Column("title", String(255), nullable=False),
    _created(),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    _uid("company_uid", ForeignKey("companies.uid"), nullable=False, index=True),
    Column("name", String(255), nullable=False),
    _created(),
)

tokens = Table(
    "tokens",
    metadata,
    _uid("id", primary_key=True),
    Column("account_id", Serial, ForeignKey("accounts.id"), nullable=False, index=True),
    _uid("organization_uid", ForeignKey("organizations.uid"), nullable=True),
    Column("name", String(255), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    _created(),
)

LIVE_SERIAL = "status <> 'Applied' AND serial_key IS NOT NULL"
LIVE_MAC = "status <> 'Applied' AND mac_address IS NOT NULL"
CANDIDATE = "status IN ('Pending', 'Failed')"
"""Predicates of the partial indexes; queries repeat them verbatim so the planner uses the
indexes (a bound parameter in their place would not match)."""

recipes = Table(
    "recipes",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    _uid("uid", nullable=False, unique=True),
    _uid("organization_uid", ForeignKey("organizations.uid"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("brand", String(255), nullable=False),
    Column("brand_key", String(255), nullable=False),
    Column("model", String(255)),
    Column("serial_number", String(255)),
    Column("serial_key", String(255)),
    Column("mac_address", String(17)),
    Column("device_name", String(255)),
    Column("tag_uids", Text, nullable=False, server_default=""),
    _uid("policy_uid"),
    _uid("location_uid"),
    Column("confirmed_ownership", Boolean, nullable=False),
    Column("error_message", Text),
    Column("warning_message", Text),
    _uid("device_uid"),
    _uid("last_device_uid"),
    Column("version", Integer, nullable=False),
    _created(),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_recipes_organization_uid_id", "organization_uid", "id"),
    Index("ix_recipes_organization_uid_status_id", "organization_uid", "status", "id"),
    _partial(
        "ix_recipes_organization_uid_serial_key",
        "organization_uid",
        "serial_key",
        where="serial_key IS NOT NULL",
    ),
    _partial(
        "ix_recipes_organization_uid_mac_address",
        "organization_uid",
        "mac_address",
        where="mac_address IS NOT NULL",
    ),
    _partial(
        "uq_recipes_live_serial",
        "organization_uid",
        "brand_key",
        "serial_key",
        where=LIVE_SERIAL,
        unique=True,
    ),
    _partial(
        "uq_recipes_live_mac",
        "organization_uid",
        "brand_key",
        "mac_address",
        where=LIVE_MAC,
        unique=True,
    ),
)

SERIAL_MATCH = recipes.c.serial_key + recipes.c.brand_key
MAC_MATCH = recipes.c.mac_address + recipes.c.brand_key
"""What a registering device is matched by, across organizations: its serial number or a MAC,
each followed by its brand, as one value. Indexed as such, the lookup has exactly one index it
can walk: while the brand was a column of those indexes, a planner short of statistics (a
freshly loaded table, before `ANALYZE`) could take any index with a brand column and walk
every recipe of the brand."""

Index("ix_recipes_candidate_serial", SERIAL_MATCH, **_where(CANDIDATE))
Index("ix_recipes_candidate_mac", MAC_MATCH, **_where(CANDIDATE))


def match_key(identifier: str, brand_key: str) -> str:
    """An identifier and its brand as SERIAL_MATCH and MAC_MATCH hold them. A serial number and
    its brand may read like another pair ("ab" + "c", "a" + "bc"): the key narrows the search,
    and the caller compares exactly."""
    return identifier + brand_key


recipe_counts = Table(
    "recipe_counts",
    metadata,
    _uid("organization_uid", primary_key=True),
    Column("status", String(16), primary_key=True),
    Column("stripe", Integer, primary_key=True),
    Column("count", BigInteger, nullable=False),
)
"""How many recipes each organization has in each status: the sum of its stripes' counts.

Kept by every transaction that adds, removes or re-statuses recipes (one upsert before it
commits), so the console counts an organization's recipes without reading them. Concurrent
PostgreSQL writers in one organization each add to a stripe of their own choosing, so they
seldom wait for one another's row lock; a stripe alone may be negative, the sum never is."""


events = Table(
    "events",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    _uid("organization_uid", nullable=False),
    Column("type", String(100), nullable=False),
    _uid("subject_uid", nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("position", BigInteger, unique=True),
    _created(),
    Index("ix_events_organization_uid_position", "organization_uid", "position"),
    _partial(
        "ix_events_subject_uid_position",
        "subject_uid",
        "position",
        where="position IS NOT NULL",
    ),
    _partial(
        "ix_events_unpositioned",
        "id",
        where="position IS NULL",
    ),
)

exporters = Table(
    "exporters",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    _uid("uid", nullable=False, unique=True),
    _uid("organization_uid", ForeignKey("organizations.uid"), nullable=False, index=True),
    Column("name", String(255), nullable=False),
    Column("description", Text),
    Column("subscribed_event_types", Text, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("url", String(2048), nullable=False),
    Column("secret", Text, nullable=False),
    Column("disabled_reason", Text),
    Column("last_sequence", BigInteger, nullable=False, server_default="0"),
    Column("failing_since", UTCDateTime()),
    Column("enabled_at", UTCDateTime()),
    _created(),
    Column("updated_at", UTCDateTime(), nullable=False),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    _uid("exporter_uid", ForeignKey("exporters.uid", ondelete="CASCADE"), nullable=False),
    Column("event_row_id", Serial, ForeignKey("events.id"), nullable=False),
    _uid("subject_uid", nullable=False),
    Column("sequence_number", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("lease_expires_at", UTCDateTime()),
    Column("lease_owner", String(32)),
    Column("last_error", Text),
    Column("delivered_at", UTCDateTime()),
    Column("finished_at", UTCDateTime()),
    _created(),
    Index("ix_deliveries_exporter_uid_status", "exporter_uid", "status", "id"),
    _partial(
        "ix_deliveries_pending_subject",
        "exporter_uid",
        "subject_uid",
        "sequence_number",
        where="status = 'pending'",
    ),
    _partial("ix_deliveries_due", "next_attempt_at", "id", where="status = 'pending'"),
)

delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column(
        "delivery_id",
        Serial,
        ForeignKey("deliveries.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("attempted_at", UTCDateTime(), nullable=False),
    Column("duration_ms", Integer, nullable=False),
    Column("http_status", Integer),
    Column("error", Text),
    Column("response", Text),
)
"""`response`: the start of the answer's body, for the delivery log."""

publish_cursors = Table(
    "publish_cursors",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("position", BigInteger, nullable=False),
)
"""How far along the feed an outbound publisher (JetStream) has published."""


def _registry(name: str, *own: Any) -> Table:
    """Tags, policies and locations share a shape — a named entry of an organization — plus
    columns of their own (`own`). Each kind's attributes are columns rather than one JSON
    document: they are typed and constrained by the database (a parent tag is a foreign key),
    the archived filter is a plain condition, and only a policy's items are free-form JSON."""
    return Table(
        name,
        metadata,
        Column("id", Serial, primary_key=True, autoincrement=True),
        _uid("uid", nullable=False, unique=True),
        _uid("organization_uid", ForeignKey("organizations.uid"), nullable=False),
        Column("name", String(255), nullable=False),
        _created(),
        Column("updated_at", UTCDateTime(), nullable=False),
        *own,
        Index(f"ix_{name}_organization_uid_id", "organization_uid", "id"),
    )


tags = _registry(
    "tags",
    Column("color", String(255)),
    _uid("parent_tag_uid", ForeignKey("tags.uid", ondelete="SET NULL"), index=True),
)
policies = _registry(
    "policies",
    Column("note", Text),
    Column("items", JSON, nullable=False, server_default="[]"),
    Column("archived_at", UTCDateTime()),
)
locations = _registry(
    "locations",
    Column("latitude", Double),
    Column("longitude", Double),
    Column("address", String(255)),
    Column("custom_id", String(255)),
    Column("description", Text),
)
"""A location has latitude and longitude, or an address, or (created before locations had a
place) neither."""

location_tags = Table(
    "location_tags",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    _uid("location_uid", ForeignKey("locations.uid", ondelete="CASCADE"), nullable=False),
    _uid("tag_uid", ForeignKey("tags.uid", ondelete="CASCADE"), nullable=False, index=True),
    Index("uq_location_tags_location_uid_tag_uid", "location_uid", "tag_uid", unique=True),
)
"""The tags assigned to a location, in assignment order (`id`); deleting a tag unassigns it."""

devices = Table(
    "devices",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    _uid("uid", nullable=False, unique=True),
    Column("brand", String(255), nullable=False),
    Column("brand_key", String(255), nullable=False),
    Column("model", String(255)),
    Column("serial_number", String(255)),
    Column("serial_key", String(255)),
    Column("firmware_version", String(255)),
    Column("verification_hash", String(16), nullable=False, unique=True),
    _uid("organization_uid", ForeignKey("organizations.uid"), nullable=True),
    Column("name", String(255)),
    Column("tag_uids", Text, nullable=False, server_default=""),
    _uid("location_uid"),
    _uid("recipe_uid"),
    Column("paired_at", UTCDateTime()),
    _created(),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_devices_organization_uid_id", "organization_uid", "id"),
    _partial(
        "uq_devices_serial",
        "brand_key",
        "serial_key",
        where="serial_key IS NOT NULL",
        unique=True,
    ),
)

device_macs = Table(
    "device_macs",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    _uid("device_uid", ForeignKey("devices.uid", ondelete="CASCADE"), nullable=False, index=True),
    Column("brand_key", String(255), nullable=False),
    Column("mac_address", String(17), nullable=False),
    Index("uq_device_macs_brand_key_mac_address", "brand_key", "mac_address", unique=True),
)
"""A device's MAC addresses; one MAC of a brand belongs to one device."""

device_verifications = Table(
    "device_verifications",
    metadata,
    _uid("uid", primary_key=True),
    _uid("organization_uid", ForeignKey("organizations.uid"), nullable=False),
    _uid("device_uid", ForeignKey("devices.uid"), nullable=False),
    Column("hash", String(16), nullable=False),
    _created(),
    Column("verified_at", UTCDateTime()),
)
"""Pairings by code, one row each, kept after the device leaves the organization (history)."""


device_policies = Table(
    "device_policies",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    _uid("device_uid", ForeignKey("devices.uid", ondelete="CASCADE"), nullable=False),
    _uid("policy_uid", nullable=False),
    Column("priority", Integer, nullable=False),
    Column("assigned_at", UTCDateTime(), nullable=False),
    Index("uq_device_policies_device_uid_policy_uid", "device_uid", "policy_uid", unique=True),
)
"""The policies assigned to a device. `policy_uid` has no foreign key: like a recipe's
references, an assignment outlives a deleted policy."""

console_sessions = Table(
    "console_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    _uid("token_id", ForeignKey("tokens.id", ondelete="CASCADE"), nullable=False, index=True),
    _uid("organization_uid", ForeignKey("organizations.uid"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    _created(),
    Column("last_seen_at", UTCDateTime(), nullable=False),
)
"""Signed-in console browsers. The cookie's value is stored only as a hash; revoking the token
ends its sessions."""
