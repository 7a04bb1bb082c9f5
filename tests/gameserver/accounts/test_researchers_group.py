"""The researchers group (whose members download round exports) is made by a migration, under the name the
export's permission check uses."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.db.migrations.loader import MigrationLoader

from gameserver.stats.views import RESEARCHERS_GROUP

pytestmark = pytest.mark.django_db


def test_the_researchers_group_is_made_by_a_migration():
    # A transactional test run before this one flushes the tables (and the group with them), so the migration's
    # step is run here again, as `migrate` runs it, rather than its result looked up.
    assert ("accounts", "0001_researchers_group") in MigrationLoader(None, ignore_no_migrations=True).graph.nodes
    migration = importlib.import_module("gameserver.accounts.migrations.0001_researchers_group")
    Group.objects.filter(name=RESEARCHERS_GROUP).delete()
    migration.researchers_group_create(apps, None)
    migration.researchers_group_create(apps, None)  # a second run makes no second group
    assert Group.objects.filter(name=RESEARCHERS_GROUP).count() == 1
