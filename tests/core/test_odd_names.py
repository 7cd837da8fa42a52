"""Product names and paths an owner really has (an audit of odd names): ids that differ
only in what a file name cannot hold, names in two Unicode forms, letters of 4 bytes,
folders whose names are not valid UTF-8, links that loop, a newline in a name."""

from __future__ import annotations

import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from drawn_photos import distinct_colour, drawn_photo, drawn_photos
from locales import locale_env

from app.core import paths
from app.core.catalogue import catalogue_from_folder
from app.core.dataset import DatasetReport, build_dataset
from app.core.flows.teach import product_named
from app.core.names import name_clashes, one_line
from app.core.sources import Source, sync_file
from app.core.store import ChannelStore

NFC = unicodedata.normalize("NFC", "Café")
NFD = unicodedata.normalize("NFD", "Café")
FANCY = "".join(chr(0x1D400 + i % 52) for i in range(62))  # 62 letters, 248 bytes


@pytest.mark.parametrize("ids", [("Rice 5kg", "Rice_5kg"), ("🍎", "🍌"), (NFC, NFD)])
def test_added_photos_of_products_whose_ids_read_alike_stay_with_their_product(
    tmp_path: Path, ids: tuple[str, str]
) -> None:
    # "Rice 5kg" and "Rice_5kg" shared the folder added/Rice_5kg: every photo in it
    # went to whichever product added one last, with no word anywhere
    store = ChannelStore("folder", str(tmp_path / "shop"))
    first = store.add_files(ids[0], drawn_photos(tmp_path / "a", 2, 1))
    second = store.add_files(ids[1], drawn_photos(tmp_path / "b", 3, 2))
    added = ChannelStore("folder", str(tmp_path / "shop")).added_images()
    assert added == {ids[0]: first, ids[1]: second}


def test_a_folder_of_added_photos_by_the_older_name_stays_its_products(tmp_path: Path) -> None:
    store = ChannelStore("folder", str(tmp_path / "shop"))
    older = store.root / "added" / "Kiwi"  # how 0.2.2 and before named it
    older.mkdir(parents=True)
    (older / ".product-id").write_text("Kiwi")
    kept = drawn_photo(older / "kept.png", distinct_colour(1))
    new = store.add_files("Kiwi", drawn_photos(tmp_path / "n", 1, 2))
    assert new[0].parent == older
    assert store.added_images() == {"Kiwi": sorted([kept, *new])}


def test_a_name_of_4_byte_letters_stays_within_a_file_names_255_bytes(tmp_path: Path) -> None:
    # paths.channel_path cut names at 80 characters: 80 letters of 4 bytes are 320
    folder = tmp_path / FANCY
    for path in (
        paths.channel_dir("folder", str(folder)),
        Source.from_folder(folder).model_dir(),
        ChannelStore("folder", str(folder)).added_dir(FANCY * 2),
    ):
        assert len(os.fsencode(path.name)) <= paths.NAME_LIMIT, path.name
    store = ChannelStore("folder", str(folder))
    (stored,) = store.add_files(
        FANCY, [drawn_photo(tmp_path / f"{FANCY[:60]}.png", distinct_colour(3))]
    )
    assert stored.is_file() and len(os.fsencode(stored.name)) <= paths.NAME_LIMIT
    # a name that fits keeps the name it always had
    assert paths.bounded_name("Café au lait", 200) == "Café_au_lait"


def test_a_photo_folder_whose_name_is_not_valid_utf8_has_a_model_folder(tmp_path: Path) -> None:
    # an old Latin-1 USB stick: "Fotos café" as bytes; model_dir raised UnicodeEncodeError
    folder = Path(os.fsdecode(os.fsencode(str(tmp_path)) + b"/Fotos caf\xe9"))
    folder.mkdir()
    source = Source.from_folder(folder)
    assert source.model_dir().parent.name == "folders"
    assert sync_file(source, ".lock").name.startswith("sync-")
    other = Source.from_folder(Path(os.fsdecode(os.fsencode(str(tmp_path)) + b"/Fotos caf\xe8")))
    assert other.model_dir() != source.model_dir()
    # a product id from such a folder is kept with its photos, as the bytes it was
    store = source.store()
    pid = os.fsdecode(b"caf\xe9")
    stored = store.add_files(pid, drawn_photos(tmp_path / "x", 1, 4))
    assert ChannelStore(*source.store_key).added_images() == {pid: stored}


def test_a_link_that_leads_back_to_itself_is_an_os_error_naming_it(tmp_path: Path) -> None:
    loop = tmp_path / "loop"
    loop.symlink_to("loop")
    with pytest.raises(OSError) as caught:
        paths.resolved(loop)
    assert caught.value.filename == str(loop)
    assert paths.resolved(tmp_path / "a" / ".." / "b") == tmp_path.resolve() / "b"


def test_ids_in_two_unicode_forms_are_said_to_look_the_same_not_to_differ_in_case() -> None:
    assert name_clashes([NFC, NFD, "Apple", "apple"]) == [(NFC, NFD), ("Apple", "apple")]
    # ß and SS are one only to casefold, not to a file system
    assert name_clashes(["Straße", "STRASSE"]) == []
    report = DatasetReport(clashes=[(NFC, NFD), ("Apple", "apple")])
    lines = report.summary_lines({})
    assert any("look the same but are written with different Unicode" in ln for ln in lines)
    assert sum("differ only in upper/lower case" in ln for ln in lines) == 1


def test_teach_finds_the_product_whatever_the_unicode_form_typed() -> None:
    names = {NFD: NFD, "Kiwi": "Kiwi", "7": "Oat milk 1 l"}
    assert product_named(names, NFC) == NFD  # typed on Linux, the folder from a Mac
    assert product_named(names, "kiwi") == "Kiwi"
    assert product_named(names, "oat MILK 1 l") == "7"
    assert product_named({"a": "Tea", "b": "tea"}, "TEA") == "TEA"  # two: none chosen


def test_the_folder_walk_reports_hidden_product_folders_and_a_link_upwards(
    tmp_path: Path,
) -> None:
    shop = tmp_path / "shop"
    for name in ("Kiwi", "Lemon", ".Lime"):
        drawn_photos(shop / name, 2, len(name))
    (shop / ".git").mkdir()
    (shop / ".git" / "HEAD").write_text("ref")
    (shop / "up").symlink_to("..", target_is_directory=True)
    (shop / "here").symlink_to(".", target_is_directory=True)
    cat = catalogue_from_folder(shop)
    assert [p.id for p in cat.products] == ["Kiwi", "Lemon"]
    assert dict(cat.unusable_folders) == {
        ".Lime": "hidden (its name starts with a dot): rename it",
        "here": "a link to this photo folder or a folder above it",
        "up": "a link to this photo folder or a folder above it",
    }


def test_a_photo_named_with_a_newline_is_listed_on_one_line(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    drawn_photos(shop / "Kiwi", 2, 1)
    drawn_photos(shop / "Lemon", 2, 2)
    (shop / "Lemon" / "x\nError: disk on fire.jpg").write_text("not a photo")
    report = build_dataset(catalogue_from_folder(shop)).report
    (skipped,) = report.skipped_photos()
    assert skipped.shown == "x Error: disk on fire.jpg"
    assert all("\n" not in ln for ln in report.summary_lines({}))
    assert one_line("a\x1b[31mred\u202e\tb") == "ared b"


def test_a_product_folder_named_in_utf8_trains_under_a_latin1_locale(tmp_path: Path) -> None:
    # Python decodes file names with the locale's encoding: "Äpfel" read as "Ã\x84pfel",
    # and the folder walk called the name "not valid text (UTF-8)" and left it out
    shop = tmp_path / "shop"
    for k, name in enumerate(("Äpfel", "Kiwi")):
        drawn_photos(shop / name, 2, k)
    code = (
        "import sys; from app.core.catalogue import catalogue_from_folder as c; "
        "cat = c(sys.argv[1]); print(sys.getfilesystemencoding(), "
        "[p.id for p in cat.products], cat.unusable_folders)"
    )
    env = locale_env(tmp_path / "locales", "fr_FR", "ISO-8859-1")
    out = subprocess.run(
        [sys.executable, "-c", code, os.fsencode(str(shop))],
        env=env,
        capture_output=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    ).stdout.decode("latin-1")
    assert out.split(" ", 1)[0] == "iso8859-1", out  # the locale took: the case to test
    assert "['Kiwi', 'Äpfel'] []" in out, out  # both products, none left out


def test_a_folder_shops_added_photo_fits_a_windows_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows keeps a path under 260 characters unless long paths are on: a folder
    shop's added photo (channel folder, product folder and photo name, 80 readable
    letters each) reached 262 to 349 under the owner's AppData, and "Add photos" failed
    with "cannot find the path" (a portability audit). With Windows' readable length the
    longest name the store makes, its temp copy included, fits under a real AppData."""
    chars = paths.WINDOWS_READABLE_CHARS  # what os.name == "nt" picks
    monkeypatch.setattr(paths, "READABLE_CHARS", chars)
    shop = tmp_path / "owner-with-a-long-name" / "Pictures" / "Duka photos for the trainer"
    product = "Kimbo Vegetable Cooking Fat 2kg Tin (Bulk Pack of 6) x"  # 55 letters
    photo = drawn_photo(tmp_path / "WhatsApp Image 2026-12-01 at 14.05.33 (1).jpeg", (200, 60, 60))
    (stored,) = Source.from_folder(shop).store().add_files(product, [photo])
    appdata = r"C:\Users\Owner\AppData\Local\Dukahub\DukahubTrainer"  # platformdirs' data dir
    inside = stored.relative_to(paths.data_dir())
    temp_copy = len(".tmp") + 9  # atomic_writer's ".<name>.<random>.tmp" beside it
    assert len(appdata) + 1 + len(str(inside)) + temp_copy < 260, inside
    assert stored.parent.name.startswith(paths.bounded_name(product, 255, chars=chars)[:20])
