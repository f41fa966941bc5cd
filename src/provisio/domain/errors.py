"""Errors the use cases raise; the API maps each to one HTTP status and the documented body."""

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldProblem:
    """One thing wrong with one field (and, for bulk input, one row)."""

    field: str
    message: str
    row: int | None = None


class DomainError(Exception):
    """Base of every expected failure; carries a human message and optional field problems."""

    def __init__(self, message: str, details: list[FieldProblem] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: list[FieldProblem] = details or []


class InvalidInput(DomainError):
    """Input that breaks a rule (422)."""

    @classmethod
    def of(cls, field_name: str, message: str) -> "InvalidInput":
        return cls(f"{field_name}: {message}", [FieldProblem(field_name, message)])


class NotFound(DomainError):
    """Missing, or belonging to another tenant: the two are indistinguishable (404)."""


class Conflict(DomainError):
    """The request clashes with the current state (409)."""


class PreconditionFailed(DomainError):
    """If-Match did not match the current version (412)."""


class Unauthenticated(DomainError):
    """Missing or wrong credentials (401)."""


class Forbidden(DomainError):
    """Valid credentials that may not do this (403)."""
