"""Persistence: one SQLAlchemy Core store over SQLite (embedded) or PostgreSQL (scale-out)."""
