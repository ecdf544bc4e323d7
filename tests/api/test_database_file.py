"""The SQLite file deleted or replaced under a running server (API-05: never a 500).

Once, ``/readyz`` kept answering ready from the pooled connections to the unlinked file, every
new connection created an empty database beside it, and requests answered 500. Now the server
notices (device and inode against what it opened at start), answers 503
``database_unavailable`` everywhere, and never creates a database from a request.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.test_api import assert_envelope, new_seller
from tests.auth import api_client, app_settings
from tests.conftest import Db
from tsunagu.slices import create_app

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def served(sqlite_db: Db) -> Iterator[tuple[TestClient, Path]]:
    """A signed-in client of an app on its own SQLite file, with warm connection pools."""
    path = Path(sqlite_db.url.removeprefix("sqlite:///"))
    with api_client(sqlite_db) as client:
        seller = new_seller(client)
        assert client.get("/readyz").status_code == 200
        assert client.get(f"/v1/sellers/{seller}").status_code == 200
        assert client.get("/").status_code == 200
        yield client, path


def _requests_answer_database_unavailable(client: TestClient, path: Path, reason: str) -> None:
    ready = client.get("/readyz")
    assert assert_envelope(ready, 503, "database_unavailable")["details"] == {"reason": reason}
    listed = client.get("/v1/sellers")
    created = client.post("/v1/sellers", json={"name": "After", "marketplaces": ["JP"]})
    for r in (listed, created):
        assert_envelope(r, 503, "database_unavailable")
    page = client.get("/")
    assert page.status_code == 503
    assert "database_unavailable" in page.text
    for r in (ready, listed, created, page):
        assert path.name not in r.text  # no server path in any answer


def test_api_05_a_deleted_database_file_is_unavailable_and_never_created_again(
    served: tuple[TestClient, Path],
):
    """API-05: deleting the SQLite file under the server makes /readyz and every request 503
    ``database_unavailable``, and no request creates a new, empty database in its place."""
    client, path = served
    path.unlink()
    _requests_answer_database_unavailable(client, path, "missing")
    assert not path.exists()


def test_api_05_a_replaced_database_file_is_unavailable_and_left_untouched(
    served: tuple[TestClient, Path], sqlite_template: Path, tmp_path: Path
):
    """API-05: another file moved into the database's place (a restore while running) is
    refused until a restart; requests neither answer 500 nor write into the new file."""
    client, path = served
    other = tmp_path / "restored.db"
    shutil.copyfile(sqlite_template, other)
    before = hashlib.sha256(other.read_bytes()).hexdigest()
    os.replace(other, path)
    _requests_answer_database_unavailable(client, path, "replaced")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_a_server_started_again_on_the_restored_file_is_ready(
    served: tuple[TestClient, Path], sqlite_db: Db, sqlite_template: Path
):
    """The 503 lasts until the operator restores the file and starts tsunagu again."""
    client, path = served
    path.unlink()
    assert_envelope(client.get("/readyz"), 503, "database_unavailable")
    shutil.copyfile(sqlite_template, path)
    assert_envelope(client.get("/readyz"), 503, "database_unavailable")
    with TestClient(create_app(app_settings(sqlite_db), migrate=False)) as again:
        assert again.get("/readyz").status_code == 200
