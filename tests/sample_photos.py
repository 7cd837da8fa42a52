"""Real studio product photos that are not fruit: Vendure's sample catalogue.

The 54 product photos that ship in the npm package ``@vendure/create`` (Unsplash
photos: electronics, shoes, furniture, plants; some on plain light backdrops), fetched
once with ``npm pack`` (the tests already install from npm) into a git-ignored folder.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import pytest

PACKAGE = "@vendure/create@3.7.3"
HERE = Path(__file__).resolve().parent / ".sample-photos"


def vendure_sample_photos() -> Path:
    """The folder of Vendure's sample product photos (``*.jpg``)."""
    images = HERE / "vendure-create-3.7.3"
    if len(list(images.glob("*.jpg"))) >= 50:
        return images
    npm = shutil.which("npm")
    if npm is None:
        msg = "npm is needed to fetch Vendure's sample photos"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(msg)
        pytest.skip(msg)
    HERE.mkdir(exist_ok=True)
    with (HERE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if len(list(images.glob("*.jpg"))) >= 50:
            return images
        with tempfile.TemporaryDirectory(dir=HERE) as tmp:
            subprocess.run(
                [npm, "pack", PACKAGE, "--pack-destination", tmp, "--loglevel=error"],
                check=True,
                timeout=300,
                capture_output=True,
            )
            tgz = next(Path(tmp).glob("*.tgz"))
            staged = Path(tmp) / "images"
            staged.mkdir()
            with tarfile.open(tgz) as tar:
                for member in tar.getmembers():
                    name = Path(member.name)
                    if member.isfile() and name.parent == Path("package/assets/images"):
                        src = tar.extractfile(member)
                        assert src is not None
                        (staged / name.name).write_bytes(src.read())
            shutil.rmtree(images, ignore_errors=True)
            staged.rename(images)
    return images
