"""Throwaway databases: an embedded PostgreSQL cluster, a database on a given server, SQLite.

Each module exposes a context manager that yields a `migration_gate.runner.Database` and
removes everything it created on every exit path.
"""
