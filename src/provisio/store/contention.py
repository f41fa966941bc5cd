"""Losing a race to a concurrent transaction: nothing was committed, and trying again works."""

from provisio.domain.errors import Conflict

TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})
"""PostgreSQL's deadlock_detected and serialization_failure."""


class Contended(Conflict):
    """A concurrent transaction got in the way (a deadlock, or a unique key it stored first).

    Running the use case again sees what the other one did; if it is not run again, the client
    gets a 409 and may retry.
    """
