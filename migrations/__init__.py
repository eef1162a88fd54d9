"""Alembic migrations of the SQL schema (PostgreSQL and SQLite)."""
