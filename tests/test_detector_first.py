"""A broken detector folder is said before the model loads (issue 22): its files need no
model, so every command that loads both reads the detector first."""

from __future__ import annotations

import io
import json
import shutil

import pytest

from howsure.cli import main
from howsure.plugin.defaults import DEFAULT_DETECTOR_NAME, shipped_detectors


def _truncate(folder):
    blob = (folder / "tensors.safetensors").read_bytes()
    (folder / "tensors.safetensors").write_bytes(blob[: len(blob) // 2])


def _bad_checksum(folder):
    cfg = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**cfg, "tensors_sha256": "0" * 64}))


def _broken_config(folder):
    (folder / "config.json").write_text("{not json")


def _newer_format(folder):
    cfg = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**cfg, "format_version": 99}))


BREAKS = {
    "truncated": (_truncate, "corrupted or truncated"),
    "checksum": (_bad_checksum, "corrupted or truncated"),
    "config": (_broken_config, "not valid JSON"),
    "version": (_newer_format, "format version 99"),
}


@pytest.fixture
def model_loads(monkeypatch):
    """Every model load, recorded; none succeeds."""
    calls: list = []

    def record(*args, **kwargs):
        calls.append(args)
        raise ValueError("MODEL LOADED")

    monkeypatch.setattr("howsure.probes.models.load_model", record)
    monkeypatch.setattr("sys.stdin", io.StringIO("What is the capital of Peru?"))
    return calls


def _broken_detector(tmp_path, how):
    folder = tmp_path / "det"
    shutil.copytree(shipped_detectors()[DEFAULT_DETECTOR_NAME], folder)
    BREAKS[how][0](folder)
    return str(folder)


@pytest.mark.parametrize("how", sorted(BREAKS))
def test_chat_says_a_broken_detector_before_loading_the_model(how, tmp_path, model_loads, capsys):
    det = _broken_detector(tmp_path, how)
    assert main(["chat", "--json", "--detector", det]) == 2
    err = capsys.readouterr().err
    assert BREAKS[how][1] in err and "MODEL LOADED" not in err
    assert model_loads == []


@pytest.mark.parametrize(
    "argv",
    [
        ["serve", "--port", "0"],
        ["demo", "--port", "0"],
        ["eval", "--dataset", "builtin", "--limit", "2"],
        ["loto", "--dataset", "builtin", "--limit", "2"],
        ["recalibrate", "--dataset", "builtin"],
        ["freeform", "--per-source", "1"],
    ],
    ids=lambda argv: argv[0],
)
def test_every_command_checks_the_detector_files_first(argv, tmp_path, model_loads, capsys):
    det = _broken_detector(tmp_path, "truncated")
    assert main([*argv, "--detector", det]) == 2
    err = capsys.readouterr().err
    assert "corrupted or truncated" in err and "MODEL LOADED" not in err, err
    assert model_loads == []
