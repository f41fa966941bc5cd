"""Companies, organizations, accounts and API tokens."""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, delete, insert, select, update
from sqlalchemy.engine import Row

from provisio.domain.errors import NotFound
from provisio.store.backend import Connection
from provisio.store.tables import accounts, companies, organizations, tokens


@dataclass(frozen=True)
class Organization:
    """`name` is fixed at creation; `title`, the name shown to people, may change."""

    uid: str
    name: str
    title: str
    company_uid: str
    created_at: datetime


def _organization(row: Row[tuple[object, ...]]) -> Organization:
    return Organization(**row._mapping)


@dataclass(frozen=True)
class StoredToken:
    id: str
    name: str
    account_id: int
    company_uid: str
    organization_uid: str | None
    secret_hash: str
    created_at: datetime


def _token_query() -> Select[tuple[object, ...]]:
    return select(tokens, accounts.c.company_uid).join(
        accounts, accounts.c.id == tokens.c.account_id
    )


def token_of(row: Row[tuple[object, ...]]) -> StoredToken:
    """A row of `tokens` joined with its account's `company_uid`."""
    return StoredToken(
        id=row.id,
        name=row.name,
        account_id=row.account_id,
        company_uid=row.company_uid,
        organization_uid=row.organization_uid,
        secret_hash=row.secret_hash,
        created_at=row.created_at,
    )


class TenancyRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def add_company(self, uid: str, name: str, now: datetime) -> None:
        await self._conn.execute(insert(companies).values(uid=uid, name=name, created_at=now))

    async def add_organization(self, org: Organization) -> None:
        await self._conn.execute(
            insert(organizations).values(
                uid=org.uid,
                name=org.name,
                title=org.title,
                company_uid=org.company_uid,
                created_at=org.created_at,
            )
        )

    async def set_title(self, uid: str, title: str) -> None:
        await self._conn.execute(
            update(organizations).where(organizations.c.uid == uid).values(title=title)
        )

    async def add_account(self, company_uid: str, name: str, now: datetime) -> int:
        result = await self._conn.execute(
            insert(accounts)
            .values(company_uid=company_uid, name=name, created_at=now)
            .returning(accounts.c.id)
        )
        return int(result.scalar_one())

    async def add_token(
        self,
        token_id: str,
        name: str,
        account_id: int,
        organization_uid: str | None,
        secret_hash: str,
        now: datetime,
    ) -> None:
        await self._conn.execute(
            insert(tokens).values(
                id=token_id,
                name=name,
                account_id=account_id,
                organization_uid=organization_uid,
                secret_hash=secret_hash,
                created_at=now,
            )
        )

    async def organizations_by_uid(self, uids: Collection[str]) -> list[Organization]:
        rows = await self._conn.execute(select(organizations).where(organizations.c.uid.in_(uids)))
        return [_organization(row) for row in rows]

    async def has_account(self, account_id: int) -> bool:
        query = select(accounts.c.id).where(accounts.c.id == account_id)
        return (await self._conn.execute(query)).first() is not None

    async def find_token(self, token_id: str) -> StoredToken | None:
        row = (await self._conn.execute(_token_query().where(tokens.c.id == token_id))).first()
        return None if row is None else token_of(row)

    async def tokens_of(self, organization_uid: str) -> list[StoredToken]:
        """The organization's tokens, oldest first."""
        query = (
            _token_query()
            .where(tokens.c.organization_uid == organization_uid)
            .order_by(tokens.c.created_at, tokens.c.id)
        )
        return [token_of(row) for row in await self._conn.execute(query)]

    async def delete_token(self, token_id: str, organization_uid: str) -> bool:
        """Delete one of the organization's tokens; False if it has no such token."""
        result = await self._conn.execute(
            delete(tokens).where(
                tokens.c.id == token_id, tokens.c.organization_uid == organization_uid
            )
        )
        return result.rowcount == 1

    async def organizations_of(self, company_uid: str) -> list[Organization]:
        query = (
            select(organizations)
            .where(organizations.c.company_uid == company_uid)
            .order_by(organizations.c.created_at, organizations.c.uid)
        )
        return [_organization(row) for row in await self._conn.execute(query)]

    async def find_organizations(
        self, company_uid: str, only: str | None, name: str | None, after: int, limit: int
    ) -> list[tuple[int, Organization]]:
        """One page of the company's organizations (`only` that one, if given; `name` those of
        exactly that name) in creation order, each keyed by how many come up to and including
        it. Organizations are never deleted and a new one sorts last, so that count is a
        stable cursor."""
        query = select(organizations).where(organizations.c.company_uid == company_uid)
        if only is not None:
            query = query.where(organizations.c.uid == only)
        if name is not None:
            query = query.where(organizations.c.name == name)
        query = (
            query.order_by(organizations.c.created_at, organizations.c.uid)
            .offset(after)
            .limit(limit)
        )
        rows = await self._conn.execute(query)
        return [(after + n, _organization(row)) for n, row in enumerate(rows, start=1)]

    async def organization(self, uid: str) -> Organization:
        row = (
            await self._conn.execute(select(organizations).where(organizations.c.uid == uid))
        ).first()
        if row is None:
            raise NotFound("organization not found")
        return _organization(row)

    async def is_empty(self) -> bool:
        return (await self._conn.execute(select(companies.c.uid).limit(1))).first() is None
