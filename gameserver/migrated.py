"""The one check the operator commands make before touching the database: that it is migrated. Without it, a
command run on a fresh database (before `migrate`) died in a traceback about a missing table."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def require_migrated() -> None:
    """CommandError, in one line, when the database lacks any of the project's migrations."""
    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        raise CommandError("the database is not migrated (a new database?): run `python manage.py migrate` first")
