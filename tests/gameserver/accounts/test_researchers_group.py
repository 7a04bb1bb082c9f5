"""The researchers group (whose members download round exports) exists from the first migration on, under the
name the export's permission check uses."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from gameserver.stats.views import RESEARCHERS_GROUP

pytestmark = pytest.mark.django_db


def test_the_researchers_group_is_made_by_a_migration():
    assert Group.objects.filter(name=RESEARCHERS_GROUP).exists()
