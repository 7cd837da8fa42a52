"""The command line's password file, as Windows tools write it (a portability audit)."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from app.cli.login import read_password
from app.core.errors import TrainerError


@pytest.mark.parametrize(
    "data",
    [
        b"s3cret\n",
        b"s3cret",
        b"s3cret\r\nsecond line\r\n",
        codecs.BOM_UTF8 + b"s3cret\r\n",  # PowerShell 5.1: Out-File -Encoding utf8
        codecs.BOM_UTF16_LE + "s3cret\r\n".encode("utf-16-le"),  # PowerShell 5.1: >
        codecs.BOM_UTF16_BE + "s3cret\n".encode("utf-16-be"),
    ],
)
def test_a_password_file_is_read_whatever_writes_it(tmp_path: Path, data: bytes) -> None:
    """The UTF-8 mark was read as part of the password (the login refused as a wrong
    password), and a UTF-16 file ended in a decoding error."""
    (tmp_path / "pw").write_bytes(data)
    assert read_password(file=tmp_path / "pw") == "s3cret"


def test_a_password_file_with_nothing_on_its_first_line_is_refused(tmp_path: Path) -> None:
    (tmp_path / "pw").write_bytes(codecs.BOM_UTF8 + b"\nlater\n")
    with pytest.raises(TrainerError, match="is empty"):
        read_password(file=tmp_path / "pw")
    (tmp_path / "pw").write_bytes(b"\xff\xfe\xff")  # not text: one clear line, no traceback
    with pytest.raises(TrainerError, match="Cannot read the password file"):
        read_password(file=tmp_path / "pw")
