"""The sample shop: six fruits shipped in ``resources/`` to try the app without a server.

The shipped copy may sit in a read-only install or a PyInstaller bundle whose path
changes on every start, so the owner trains on a copy in the app's data folder: a
stable path keeps the trained model and the owner's ticks across restarts.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from . import paths, resources

SHIPPED = "sample-shop/README.md"  # a file inside resources/sample-shop (find() wants files)
TEST_PHOTOS = "sample-test-photos/README.md"


def shipped_dir() -> Path:
    """The sample shop as installed; a broken install raises ResourceMissing by name."""
    return resources.path(SHIPPED).parent


def sample_shop_dir() -> Path:
    """A writable copy of the sample shop under the data folder (copied on first use)."""
    dest = paths.data_dir() / "sample-shop"
    src = shipped_dir()
    if not (dest / "README.md").is_file():
        tmp = dest.with_name(".sample-shop.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(src, tmp)
        shutil.rmtree(dest, ignore_errors=True)
        tmp.rename(dest)
    return dest


def sample_test_photos_dir() -> Path | None:
    """One other photo per sample product, to test the trained model on (or None)."""
    found = resources.find(TEST_PHOTOS)
    return found.parent if found is not None else None


def is_sample_shop(folder: Path | str | None) -> bool:
    """Whether ``folder`` is the app's copy of the sample shop (see sample_shop_dir)."""
    if not folder:
        return False
    try:
        ours, given = paths.resolved(paths.data_dir() / "sample-shop"), paths.resolved(folder)
        # by identity too: macOS's disks take ``Sample-Shop`` for it
        return given == ours or (ours.is_dir() and os.path.samefile(given, ours))
    except OSError:
        return False
