"""A hub model id without network fails at once (issue 22); a cached one still loads."""

from __future__ import annotations

import shutil
import time

import pytest

from howsure.probes import hub
from howsure.probes.models import load_model

DEAD_ENDPOINT = "http://127.0.0.1:9"  # the discard port: nothing listens, refused at once


@pytest.fixture
def online_but_unreachable(monkeypatch, tmp_path):
    """Offline mode off, the hub endpoint dead and an empty Hugging Face cache."""
    from huggingface_hub import constants

    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(var, raising=False)
    for var in ("HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_ENDPOINT", DEAD_ENDPOINT)
    monkeypatch.setattr(constants, "ENDPOINT", DEAD_ENDPOINT)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    return tmp_path / "hf-cache"


def test_unknown_hub_id_without_network_fails_at_once(online_but_unreachable):
    start = time.monotonic()
    with pytest.raises(ValueError, match="no network") as err:
        load_model("nonsense/x", device="cpu")
    assert time.monotonic() - start < 5  # was ~80 s of retries
    text = str(err.value)
    assert "'nonsense/x'" in text and "127.0.0.1:9" in text
    assert ".gguf" in text and "hf download nonsense/x" in text and "HF_HUB_OFFLINE" in text


def test_offline_mode_refuses_an_uncached_hub_id_without_a_request(monkeypatch, tmp_path):
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(hub, "hub_reachable", lambda *a, **k: pytest.fail("asked the hub"))
    with pytest.raises(ValueError, match=r"no network .*offline mode is on"):
        hub.hub_access("nonsense/x")


def test_a_cached_hub_id_loads_without_network(online_but_unreachable, tiny_dir):
    snapshot = online_but_unreachable / "models--tiny-org--tiny" / "snapshots" / ("a" * 40)
    shutil.copytree(tiny_dir, snapshot)
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs" / "main").write_text("a" * 40)
    assert hub.hub_access("tiny-org/tiny") == {"local_files_only": True}
    start = time.monotonic()
    model, _ = load_model("tiny-org/tiny", device="cpu")
    assert time.monotonic() - start < 30
    assert model.config.name_or_path == "tiny-org/tiny"


def test_local_folders_never_ask_the_hub(monkeypatch, tiny_dir):
    monkeypatch.setattr(hub, "hub_reachable", lambda *a, **k: pytest.fail("asked the hub"))
    assert hub.hub_access(str(tiny_dir)) == {}


def test_reachability_check_is_quick_for_a_dead_endpoint():
    start = time.monotonic()
    assert hub.hub_reachable(DEAD_ENDPOINT, timeout=2) is False
    assert time.monotonic() - start < 5
