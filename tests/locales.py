"""Locales built for a test with ``localedef`` (this machine ships C and POSIX only)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest


def locale_env(folder: Path, lang: str, charset: str = "UTF-8") -> dict[str, str]:
    """An environment whose processes run in ``lang`` (``de_DE``) with ``charset``, the
    locale built into ``folder`` (skipped where the locale sources are not installed)."""
    if not Path(f"/usr/share/i18n/locales/{lang}").is_file():
        pytest.skip(f"no locale sources to build {lang} from")
    name = f"{lang}.{charset}"
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["localedef", "-i", lang, "-f", charset, str(folder / name)],
        check=True,
        capture_output=True,
    )
    return {**os.environ, "LOCPATH": str(folder), "LC_ALL": name, "PYTHONUTF8": "0"}
