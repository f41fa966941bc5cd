"""Recipe statuses."""

from enum import StrEnum


class RecipeStatus(StrEnum):
    PENDING = "Pending"
    APPLIED = "Applied"
    FAILED = "Failed"
    INVALID = "Invalid"
