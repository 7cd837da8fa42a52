"""What every run sets up before its work."""

from __future__ import annotations

import sys

import pytest

from app.core.flows.command import outside_environment


def test_programs_the_bundle_starts_get_the_owners_library_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The file manager of "Open log folder" inherited LD_LIBRARY_PATH=<bundle>/_internal
    and loaded the bundle's libgio, libglib, libstdc++ instead of its own."""
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    env = {"LD_LIBRARY_PATH": "/opt/D/_internal", "LD_LIBRARY_PATH_ORIG": "/usr/local/lib"}
    outside_environment(env)
    assert env["LD_LIBRARY_PATH"] == "/usr/local/lib"
    env = {"LD_LIBRARY_PATH": "/opt/D/_internal"}  # the owner had none
    outside_environment(env)
    assert "LD_LIBRARY_PATH" not in env
    monkeypatch.setattr(sys, "frozen", False)  # run from source: the owner's own path
    env = {"LD_LIBRARY_PATH": "/home/o/lib"}
    outside_environment(env)
    assert env == {"LD_LIBRARY_PATH": "/home/o/lib"}
