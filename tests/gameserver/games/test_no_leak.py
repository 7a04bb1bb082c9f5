"""No leak before lock: crawl everything a player can reach during a round (pages, JSON, image bytes and their
metadata, headers, websocket frames, stats and exports) and fail on any coordinate within 50 km of the truth or
of the model's guess. The same detector must find the truth in the reveal, so the crawl can fail."""

from __future__ import annotations

import io
import json
import re
import zipfile
from typing import TYPE_CHECKING

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Group, User
from django.test import Client
from PIL import ExifTags, Image

from gameserver.asgi import application
from gameserver.games.models import Round
from gameserver.panoramas.models import Panorama
from gameserver.panoramas.services import panorama_set_import
from planet_engine.geo import distance_km

if TYPE_CHECKING:  # the test client's response, as django-stubs names it
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse

pytestmark = pytest.mark.django_db(transaction=True)

LEAK_KM = 50.0
SYDNEY = (-33.8712, 151.2065)  # a photo round
REYKJAVIK = (64.1355, -21.8954)  # an equirectangular panorama round
WELLINGTON = (-41.2865, 174.7762)  # a multi-view place: two views
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
# A coordinate's two numbers stand within a few tokens of each other in any serialisation (JSON, CSV, a URL).
PAIR_WINDOW = 4


def coordinates_near(text: str, point: tuple[float, float], km: float = LEAK_KM) -> list[tuple[float, float]]:
    """Every (latitude, longitude) read from nearby numbers of `text` that lies within `km` of `point`.

    A pair of whole numbers is ignored: no serialiser writes a location that way, and counters and dates are
    full of them (a whole-degree position is ~100 km off anyway)."""
    tokens = NUMBER.findall(text)
    hits = []
    for i, first in enumerate(tokens):
        for second in tokens[i + 1 : i + 1 + PAIR_WINDOW]:
            if "." not in first and "." not in second:
                continue
            a, b = float(first), float(second)
            for lat, lon in ((a, b), (b, a)):
                if abs(lat) <= 90 and abs(lon) <= 180 and distance_km(lat, lon, *point) <= km:
                    hits.append((lat, lon))
    return hits


def test_the_detector_finds_coordinates_in_any_order_and_ignores_far_or_whole_numbers():
    assert coordinates_near('{"latitude": -33.87, "longitude": 151.2}', SYDNEY)
    assert coordinates_near("lon=151.21&x=1&lat=-33.9", SYDNEY)
    assert not coordinates_near('{"latitude": -35.0, "longitude": 149.1}', SYDNEY)  # Canberra: 250 km
    assert not coordinates_near("round 34 of 151", (-34.0, 151.0))


def jpeg_metadata_segments(data: bytes) -> list[tuple[int, bytes]]:
    """(marker, payload) of every APPn and COM segment before the image data: where EXIF, XMP, IPTC and
    comments live."""
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    segments, position = [], 2
    while position < len(data):
        assert data[position] == 0xFF, f"bad JPEG marker at {position}"
        marker = data[position + 1]
        if marker == 0xDA:  # start of scan: entropy-coded data follows, no more metadata
            break
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        if 0xE0 <= marker <= 0xEF or marker == 0xFE:
            segments.append((marker, data[position + 4 : position + 2 + length]))
        position += 2 + length
    return segments


def phone_exif(point: tuple[float, float]) -> Image.Exif:
    """GPS EXIF of `point`, as a camera writes it: the import must drop it."""

    def dms(value: float) -> tuple[float, float, float]:
        value = abs(value)
        return (float(int(value)), float(int(value * 60 % 60)), round(value * 3600 % 60, 2))

    exif = Image.Exif()
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "NS"[point[0] < 0], dms(point[0])
    gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "EW"[point[1] < 0], dms(point[1])
    return exif


@pytest.fixture
def located_set(source, model_version) -> str:
    manifest = source.manifest(
        [
            {
                "file": source.image("sydney.jpg", size=(320, 240), seed=1, exif=phone_exif(SYDNEY)),
                "latitude": SYDNEY[0],
                "longitude": SYDNEY[1],
                "kind": "photo",
            },
            {
                "file": source.image("reykjavik.jpg", size=(400, 200), seed=2, exif=phone_exif(REYKJAVIK)),
                "latitude": REYKJAVIK[0],
                "longitude": REYKJAVIK[1],
                "kind": "equirectangular",
            },
            *(
                {
                    "file": source.image(
                        f"wellington_{view}.jpg", size=(240, 240), seed=3 + i, exif=phone_exif(WELLINGTON)
                    ),
                    "latitude": WELLINGTON[0],
                    "longitude": WELLINGTON[1],
                    "kind": "photo",
                    "place_id": "wlg",
                    "view": view,
                    "heading": 90 * i,
                }
                for i, view in enumerate(("front", "back"))
            ),
        ]
    )
    panorama_set_import(manifest_path=manifest, name="located")
    return "located"


class Crawl:
    """What one client saw: every response's headers and body (image bytes reduced to their metadata)."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.seen: list[tuple[str, str]] = []

    def record(self, url: str, response: TestResponse) -> TestResponse:
        headers = "\n".join(f"{key}: {value}" for key, value in response.items())
        body = response.getvalue()
        if response.get("Content-Type", "").startswith("image/"):
            image = Image.open(io.BytesIO(body))
            assert not image.getexif(), f"{url}: the image carries EXIF"
            assert not image.info.get("comment") and "xmp" not in image.info, f"{url}: the image carries metadata"
            segments = jpeg_metadata_segments(body)
            assert [marker for marker, _ in segments] in ([], [0xE0]), f"{url}: metadata segments {segments}"
            text = " ".join(payload.decode("latin-1") for _, payload in segments)
        elif response.get("Content-Type", "") == "application/zip":  # the web export: rows, datasheet, Croissant
            with zipfile.ZipFile(io.BytesIO(body)) as bundle:
                text = "\n".join(bundle.read(name).decode() for name in bundle.namelist())
        else:
            text = body.decode()
        self.seen.append((url, f"{headers}\n{text}"))
        return response

    def get(self, url: str) -> TestResponse:
        return self.record(url, self.client.get(url))

    def post(self, url: str, body: object) -> TestResponse:
        return self.record(url, self.client.post(url, data=json.dumps(body), content_type="application/json"))

    def leaks(self, points: dict[str, tuple[float, float]]) -> list[str]:
        return [
            f"{what} {hit} in {url}"
            for url, text in self.seen
            for what, point in points.items()
            for hit in coordinates_near(text, point)
        ]


def researcher_client() -> Client:
    """A signed-in researcher: the one player who may also export rounds, so exports are crawled too."""
    user = User.objects.filter(username="ada").first() or User.objects.create_user("ada", password="pw")
    user.groups.add(Group.objects.get_or_create(name="researchers")[0])
    client = Client()
    client.force_login(user)
    return client


def crawl_a_round_in_play(*, player: Crawl, outsider: Crawl, game_id: str, round_id: str, set_name: str) -> None:
    """Every endpoint either client can reach while `player` has not locked `round_id`."""
    for url in (
        "/",
        f"/play/{game_id}",
        "/stats",
        "/api/session",
        "/api/catalogue",
        "/api/schema",
        f"/api/games/{game_id}",
        f"/api/rounds/{round_id}",
        f"/api/rounds/{round_id}/image",
        f"/api/rounds/{round_id}/views/0",
        f"/api/rounds/{round_id}/views/1",
        "/api/stats/benchmark",
        f"/api/stats/benchmark?set={set_name}",
        *(f"/api/stats/export?format={fmt}&set={set_name}" for fmt in ("csv", "jsonl")),
        f"/api/rounds/{round_id}/guess",
        "/admin/",
    ):
        player.get(url)
        outsider.get(url)
    assert outsider.get(f"/api/rounds/{round_id}/image").status_code == 403  # the image is for players only
    player.post(f"/api/games/{game_id}/rounds/1/start", {})  # starting again answers the same round view
    outsider.post(f"/api/games/{game_id}/rounds/1/start", {})
    outsider.post(f"/api/rounds/{round_id}/guess", {"latitude": 0.5, "longitude": 0.5})  # not a player: 403


async def frames(socket: WebsocketCommunicator) -> list[str]:
    received = []
    while not await socket.receive_nothing(timeout=0.3):
        received.append(await socket.receive_from())
    return received


@pytest.mark.asyncio
@pytest.mark.parametrize("truth", [SYDNEY, REYKJAVIK, WELLINGTON], ids=["photo", "panorama", "multiview"])
@pytest.mark.parametrize("mode", ["move", "nmpz"])
async def test_nothing_a_seat_can_reach_while_a_seat_is_open_holds_the_location(located_set, mode, truth):
    # Its own thread: the consumer's database calls need the main sync thread free meanwhile.
    crawl_leaks, socket_leaks, reveal_leaks = await sync_to_async(play_a_room_of_three, thread_sensitive=False)(
        located_set=located_set, mode=mode, truth=truth
    )
    assert crawl_leaks == [], crawl_leaks
    assert socket_leaks == [], socket_leaks
    # The detector sees the truth once every seat has locked: the crawl above could have failed.
    assert reveal_leaks, f"the reveal of {truth} shows no truth: the detector is blind"


def play_a_room_of_three(*, located_set: str, mode: str, truth: tuple[float, float]):
    """A room of three playing one round of `truth` with a socket open. The opponent locks; crawl as the
    player (not locked), as the opponent (locked) and as an outsider. Then the player locks too, with the
    third seat still open: crawl both again. Only when the third seat locks is the reveal crawled."""
    from asgiref.sync import async_to_sync

    player, opponent, third, outsider = Crawl(researcher_client()), Crawl(Client()), Crawl(Client()), Crawl(Client())
    # The round is made the one of `truth` before it is served (the draw is random; a loop of draws until it
    # came up once ran into the per-address limit on new games).
    game = player.post("/api/games", {"set": located_set, "rounds": 1, "mode": mode, "time_limit_s": 600}).json()
    Round.objects.filter(game__public_id=game["game"]).update(
        panorama=Panorama.objects.get(latitude=truth[0], longitude=truth[1])
    )
    game_round = Round.objects.get(game__public_id=game["game"])
    socket = WebsocketCommunicator(application, f"/ws/games/{game['game']}", headers=[(b"origin", b"http://127.0.0.1")])
    assert async_to_sync(socket.connect)()[0]
    opponent.post(f"/api/games/{game['game']}/join", {"name": "bob"})
    third.post(f"/api/games/{game['game']}/join", {"name": "carol"})
    view = player.post(f"/api/games/{game['game']}/rounds/1/start", {}).json()
    opponent.post(f"/api/games/{game['game']}/rounds/1/start", {})
    assert opponent.post(f"/api/rounds/{view['round']}/guess", {"latitude": 10.5, "longitude": 10.5}).status_code == 201
    game_round.refresh_from_db()
    assert game_round.model_status == Round.ModelStatus.READY
    assert game_round.model_latitude is not None and game_round.model_longitude is not None
    points = {"truth": truth, "model guess": (game_round.model_latitude, game_round.model_longitude)}

    crawl = {"game_id": game["game"], "round_id": view["round"], "set_name": located_set}
    crawl_a_round_in_play(player=player, outsider=outsider, **crawl)
    crawl_a_round_in_play(player=opponent, outsider=outsider, **crawl)
    # The player locks as well; the third seat is still open, so neither locked seat may learn anything yet.
    assert player.post(f"/api/rounds/{view['round']}/guess", {"latitude": 1.5, "longitude": 1.5}).status_code == 201
    crawl_a_round_in_play(player=player, outsider=outsider, **crawl)
    crawl_a_round_in_play(player=opponent, outsider=outsider, **crawl)
    socket_frames = async_to_sync(frames)(socket)
    assert any('"player_guessed"' in frame for frame in socket_frames), "the socket saw the round"
    socket_leaks = [
        f"{what} {hit} in a frame"
        for frame in socket_frames
        for what, point in points.items()
        for hit in coordinates_near(frame, point)
    ]
    async_to_sync(socket.disconnect)()

    after = Crawl(player.client)
    third.post(f"/api/rounds/{view['round']}/guess", {"latitude": 20.5, "longitude": 20.5})
    after.get(f"/api/rounds/{view['round']}")
    after.get(f"/api/stats/export?format=csv&set={located_set}")
    leaks = player.leaks(points) + opponent.leaks(points) + outsider.leaks(points)
    return leaks, socket_leaks, after.leaks({"truth": truth})
