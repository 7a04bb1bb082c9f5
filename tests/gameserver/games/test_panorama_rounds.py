"""A 360° panorama's round through the API: each round turns the panorama by a random angle of its own and opens
at its heading; an NMPZ round serves only its opening view, as a photo, to the player and to the model."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
from django.test import Client
from PIL import Image

from gameserver.games.models import Round
from gameserver.games.rules import round_view_key
from gameserver.games.serving import served_height_range
from gameserver.panoramas.services import panorama_set_import
from gameserver.panoramas.storage import image_open
from tests.gameserver.games.test_api import post

pytestmark = pytest.mark.django_db(transaction=True)


def column_coloured_panorama(source, *, heading: str) -> None:
    """A 720 x 360 panorama whose every column has its own colour (column_of reads it back), as set "panos"."""
    width, height = 720, 360
    columns = np.arange(width)
    pixels = np.stack([columns % 256, (columns // 256) * 80, np.full(width, 128)], axis=-1).astype(np.uint8)
    panorama = source.root / "pano.png"
    panorama.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.repeat(pixels[None], height, axis=0)).save(panorama)
    manifest = source.manifest(
        [{"file": "pano.png", "latitude": 10, "longitude": 20, "kind": "equirectangular", "heading": heading}]
    )
    panorama_set_import(manifest_path=manifest, name="panos")


def column_of(pixel: np.ndarray) -> int:
    """The column of column_coloured_panorama a (decoded, slightly noisy) pixel came from."""
    return int(round(pixel[1] / 80)) * 256 + int(pixel[0])


def test_a_panorama_round_opens_at_its_heading_turned_by_a_random_angle_of_its_own(model_version, source):
    # The manifest's heading (135.25°, the column 630.5 of 720) would be a key into the set: each round turns
    # the panorama about its vertical axis by its own random angle and opens at the same place in the picture.
    column_coloured_panorama(source, heading="135.25")
    headings = set()
    for _ in range(3):
        client = Client()  # a new player each time: the one panorama is drawn again
        _, game = post(client, "/api/games", {"set": "panos", "rounds": 1, "mode": "move"})
        _, view = post(client, f"/api/games/{game['game']}/rounds/1/start", {})
        assert (view["kind"], view["mode"]) == ("equirectangular", "move")
        served = Round.objects.get(public_id=view["round"])
        assert served.view_heading == view["heading"] and served.view_sha256 != served.panorama.content_sha256
        headings.add(view["heading"])
        # A 360° panorama keeps its whole sphere: scaled, still 2:1, turned.
        with image_open(key=round_view_key(round=served)) as image:
            assert image.width == 2 * image.height and 324 <= image.height <= 360
            pixels = np.asarray(image.convert("RGB")).astype(int)
        # Yaw 0 is the centre column; the served heading looks where the manifest's heading looked before.
        x = int((view["heading"] / 360 + 0.5) * image.width) % image.width
        assert abs(column_of(pixels[image.height // 2, x]) - 630) <= 6, (view["heading"], x)
    assert len(headings) == 3 and 135.25 not in headings


def test_an_nmpz_panorama_round_serves_only_its_opening_view_to_player_and_model(model_version, source, monkeypatch):
    from planet_engine.predict import Predictor

    # Each column of the panorama has its own colour, so the render shows which direction it looks at.
    column_coloured_panorama(source, heading="90")
    predicted: list[np.ndarray] = []
    original = Predictor.predict_groups

    def recorded(self, groups, **kw):
        predicted.extend(np.asarray(i) for group in groups for i in group)
        return original(self, groups, **kw)

    monkeypatch.setattr(Predictor, "predict_groups", recorded)
    client = Client()
    _, game = post(client, "/api/games", {"set": "panos", "rounds": 1, "mode": "nmpz"})
    _, view = post(client, f"/api/games/{game['game']}/rounds/1/start", {})
    assert (view["kind"], view["heading"]) == ("photo", None)
    served = Round.objects.get(public_id=view["round"])
    body = client.get(view["image_url"]).getvalue()
    assert hashlib.sha256(body).hexdigest() == served.view_sha256 != served.panorama.content_sha256
    with Image.open(io.BytesIO(body)) as image:
        # The 1024 x 640 render served as any photo is (serving.py): cropped about its centre to 16:9, then by at
        # most 4% a side, at a height of the one band.
        low, high = served_height_range()
        assert low <= image.height <= high and abs(image.width / image.height / (16 / 9) - 1) <= 0.05
        pixels_served = np.asarray(image.convert("RGB"))
        centre = pixels_served[image.height // 2, image.width // 2].astype(int)
    # Heading 90° looks a quarter turn right of the panorama's centre column: column 540 of 720.
    assert abs(centre[0] - 540 % 256) <= 6 and abs(centre[1] - (540 // 256) * 80) <= 6
    assert predicted and all(np.array_equal(seen, pixels_served) for seen in predicted)  # the model saw these
