"""Use cases: each runs in one unit of work and returns domain objects."""
