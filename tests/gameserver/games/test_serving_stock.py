"""Served encodings made ahead of the serve (games/serving_stock.py): a new game stocks them, a first serve takes
one and nobody else ever gets it, and a serve with none stocked encodes on the spot."""

from __future__ import annotations

import hashlib

import pytest

from gameserver.games.models import Round, StockedView
from gameserver.games.services import game_create, round_serve
from gameserver.objectstore import object_read
from gameserver.panoramas.models import Panorama, PanoramaSet
from gameserver.panoramas.services import panorama_set_import
from gameserver.panoramas.storage import panorama_image_key, served_view_key

# Committed for real: the stock is asked for on commit, and the task runs eagerly here.
pytestmark = pytest.mark.django_db(transaction=True)
STOCK = 2


@pytest.fixture
def stocking(settings) -> None:
    settings.PLANET_SERVING_STOCK = STOCK


@pytest.fixture
def one_panorama(source, model_version) -> PanoramaSet:
    manifest = source.manifest(
        [{"file": source.image("only.jpg", size=(320, 240), seed=3), "latitude": 48.85, "longitude": 2.35}]
    )
    return PanoramaSet.objects.get(pk=panorama_set_import(manifest_path=manifest, name="one").set_id)


def served(panorama_set: PanoramaSet, owner: str) -> Round:
    game = game_create(panorama_set=panorama_set, owner_key=owner, rounds=1)
    return round_serve(round=game.rounds.get(), player_key=owner)


def test_a_new_game_stocks_encodings_and_each_is_served_once(one_panorama, stocking):
    source = panorama_image_key(panorama=Panorama.objects.get())
    game = game_create(panorama_set=one_panorama, owner_key="p1", rounds=1)
    stocked = {row.view_name: row.view_sha256 for row in StockedView.objects.filter(source_key=source)}
    assert len(stocked) == STOCK
    first = round_serve(round=game.rounds.get(), player_key="p1")
    assert first.view_name in stocked and first.view_sha256 == stocked[first.view_name]
    assert first.view_name not in set(StockedView.objects.values_list("view_name", flat=True))  # taken: gone
    rounds = [first] + [served(one_panorama, f"p{n}") for n in range(2, 6)]
    names = [r.view_name for r in rounds]
    hashes = [hashlib.sha256(object_read(key=served_view_key(name=name))).hexdigest() for name in names]
    assert hashes == [r.view_sha256 for r in rounds]  # what the round records is what it serves
    assert len(set(names)) == len(set(hashes)) == 5  # no two rounds share an encoding
    assert hashlib.sha256(object_read(key=source)).hexdigest() not in hashes


def test_a_serve_with_nothing_stocked_encodes_its_own_view_on_the_spot(one_panorama, stocking):
    game = game_create(panorama_set=one_panorama, owner_key="p1", rounds=1)
    stocked = set(StockedView.objects.values_list("view_name", flat=True))
    StockedView.objects.all().delete()  # no worker has stocked anything (or a burst took it all)
    game_round = round_serve(round=game.rounds.get(), player_key="p1")
    assert game_round.view_name and game_round.view_name not in stocked
    data = object_read(key=served_view_key(name=game_round.view_name))
    assert hashlib.sha256(data).hexdigest() == game_round.view_sha256


def test_with_the_stock_off_nothing_is_stocked_and_every_serve_encodes_its_own(one_panorama, settings):
    settings.PLANET_SERVING_STOCK = 0  # the default
    rounds = [served(one_panorama, f"p{n}") for n in range(1, 4)]
    assert not StockedView.objects.exists()
    assert len({r.view_name for r in rounds}) == len({r.view_sha256 for r in rounds}) == 3
