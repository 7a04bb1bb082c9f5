"""The object store (gameserver/objectstore.py): the same calls on the embedded local folder and on a real
S3-compatible server (moto's server mode on loopback), and the checkpoints kept in it by hash."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from gameserver.inference.checkpoints import checkpoint_key, checkpoint_local, checkpoint_store
from gameserver.objectstore import (
    object_download,
    object_exists,
    object_read,
    object_storage,
    object_write,
    objects_delete,
    planet_storage,
    storage_is_local,
)
from planet_engine.checkpoint import CheckpointError
from tests.ports import free_port


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's S3 server on a free loopback port, for this module's tests."""
    port = free_port()
    log = tmp_path_factory.mktemp("s3") / "moto.log"
    with log.open("wb") as handle:
        server = subprocess.Popen(
            [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(endpoint, timeout=2):
                break
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise AssertionError(f"moto_server did not answer: {log.read_text(errors='replace')[-2000:]}") from None
            time.sleep(0.1)
    yield endpoint
    server.terminate()
    server.wait(timeout=20)


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """Each test runs against the local folder and against a fresh bucket on the S3 server."""
    if request.param == "s3":
        import boto3

        endpoint = request.getfixturevalue("s3_endpoint")
        for name, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}.items():
            monkeypatch.setenv(name, value)
        bucket = f"arena-{tmp_path.name.lower().replace('_', '-')[-40:]}"
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
        settings.STORAGES = {
            **settings.STORAGES,
            "planet": object_storage(f"s3://{bucket}/objects?endpoint={endpoint}&region=us-east-1"),
        }
    checkpoint_local.cache_clear()
    yield request.param
    checkpoint_local.cache_clear()


def test_objects_are_written_whole_replaced_read_and_deleted(store: str):
    assert storage_is_local() == (store == "local")
    assert object_write(key="rounds/a.jpg", data=b"first") == "rounds/a.jpg"
    object_write(key="rounds/a.jpg", data=io.BytesIO(b"second, streamed"))  # the key names one content
    assert object_read(key="rounds/a.jpg") == b"second, streamed"
    objects_delete(keys=["rounds/a.jpg"])
    assert not object_exists(key="rounds/a.jpg")
    with pytest.raises(FileNotFoundError, match="rounds/a.jpg"):
        object_read(key="rounds/a.jpg")


def test_a_local_write_that_fails_midway_leaves_the_old_object_and_no_part_file():
    assert storage_is_local()  # the embedded store; an S3 put is whole by the protocol
    object_write(key="views/v.jpg", data=b"old")

    class Failing(io.BytesIO):
        def read(self, *args: object) -> bytes:
            raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        object_write(key="views/v.jpg", data=Failing(b"new"))
    assert object_read(key="views/v.jpg") == b"old"
    assert [p.name for p in Path(planet_storage().path("views")).iterdir()] == ["v.jpg"]


def test_a_download_is_refused_unless_it_hashes_to_what_was_asked(store: str, tmp_path: Path):
    object_write(key="checkpoints/x.pt", data=b"weights")
    good = hashlib.sha256(b"weights").hexdigest()
    assert object_download(key="checkpoints/x.pt", path=tmp_path / "x.pt", sha256=good).read_bytes() == b"weights"
    with pytest.raises(ValueError, match="hashes to"):
        object_download(key="checkpoints/x.pt", path=tmp_path / "y.pt", sha256="0" * 64)
    assert not (tmp_path / "y.pt").exists() and not list(tmp_path.glob(".y.pt*"))


def test_a_checkpoint_is_stored_by_its_hash_and_found_again_only_unchanged(
    store: str, settings, tmp_path: Path, tiny_checkpoint: Path
):
    sha256, local, created = checkpoint_store(path=tiny_checkpoint)
    assert created and sha256 == hashlib.sha256(tiny_checkpoint.read_bytes()).hexdigest()
    assert object_read(key=checkpoint_key(sha256=sha256)) == tiny_checkpoint.read_bytes()
    assert checkpoint_store(path=tiny_checkpoint)[2] is False  # the same content is stored once

    # A worker on another machine: an empty cache fetches and checks the stored copy.
    settings.PLANET_CHECKPOINT_CACHE = tmp_path / "other-machine"
    checkpoint_local.cache_clear()
    found = checkpoint_local(sha256=sha256)
    assert found.read_bytes() == tiny_checkpoint.read_bytes()
    if store == "s3":
        assert found == tmp_path / "other-machine" / f"{sha256}.pt"
        found.write_bytes(b"damaged on this machine")  # a damaged local copy is fetched again
        checkpoint_local.cache_clear()
        assert checkpoint_local(sha256=sha256).read_bytes() == tiny_checkpoint.read_bytes()

    object_write(key=checkpoint_key(sha256=sha256), data=b"replaced in the store")
    (tmp_path / "other-machine").mkdir(exist_ok=True)
    for copy in (tmp_path / "other-machine").glob("*.pt"):
        copy.unlink()
    checkpoint_local.cache_clear()
    with pytest.raises(CheckpointError, match=sha256[:12]):
        checkpoint_local(sha256=sha256)
    objects_delete(keys=[checkpoint_key(sha256=sha256)])
    checkpoint_local.cache_clear()
    with pytest.raises(CheckpointError, match="register the model again"):
        checkpoint_local(sha256=sha256)
