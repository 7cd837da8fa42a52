"""The pieces behind the CLI fault suite, in process and without training (issue 10)."""

from __future__ import annotations

import errno
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from app.core import outdir
from app.core.catalogue import Catalogue, ImageRef, Product, catalogue_from_folder
from app.core.dataset import build_dataset
from app.core.errors import BaseWeightsError, DatasetError, ExportError, InvalidOptions
from app.core.faults import describe
from app.core.model import EPOCHS_MAX, SEED_MAX, TrainOptions
from app.core.photo_check import photo_problem
from app.core.pipeline import preflight

# --- 18: TrainOptions.check -----------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        {"epochs": 0},
        {"epochs": EPOCHS_MAX + 1},
        {"epochs": 2.5},
        {"epochs": True},
        {"alpha": 2.0},
        {"alpha": "0.35"},
        {"seed": -1},
        {"seed": SEED_MAX + 1},
        {"image_size": 100},
        {"views_target": 0},
        {"max_views": 0},
        {"head": "deep"},
        {"learning_rate": 0.0},
        {"learning_rate": float("nan")},
        {"label_smoothing": 1.0},
        {"proto_blend": float("inf")},
    ],
)
def test_check_refuses_each_bad_value_with_a_message(bad: dict) -> None:
    with pytest.raises(InvalidOptions) as info:
        TrainOptions(**bad).check()
    assert "must be" in str(info.value)


def test_check_accepts_the_defaults_and_every_offered_size() -> None:
    for alpha in (0.35, 0.5, 0.75, 1.0):
        TrainOptions(alpha=alpha, epochs=1, seed=SEED_MAX).check()
    TrainOptions(proto_blend=0.0, head="linear").check()  # the benchmark's variants


def _missing_catalog(tmp_path: Path) -> Catalogue:
    """Two products whose photos do not exist: any photo work would fail differently."""
    return Catalogue(
        [Product(p, p, [ImageRef(tmp_path / f"{p}.jpg")]) for p in ("a", "b")], source="t"
    )


def test_preflight_refuses_before_any_photo_is_read(tmp_path: Path) -> None:
    cat = _missing_catalog(tmp_path)
    with pytest.raises(InvalidOptions, match="Epochs"):
        preflight(cat, TrainOptions(epochs=0), tmp_path / "m", "none")
    with pytest.raises(InvalidOptions, match="precision"):
        preflight(cat, TrainOptions(), tmp_path / "m", "int4")
    with pytest.raises(BaseWeightsError, match="nope.h5"):
        preflight(cat, TrainOptions(base_weights=tmp_path / "nope.h5"), tmp_path / "m", "none")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ExportError, match="not a folder"):
        preflight(cat, TrainOptions(), tmp_path / "file", "none")
    assert preflight(cat, TrainOptions(), tmp_path / "new" / "m", "none") == tmp_path / "new" / "m"
    assert [p.name for p in (tmp_path / "new").iterdir()] == []  # the probe is gone


def test_a_name_that_fits_gets_a_temp_folder_that_fits(tmp_path: Path) -> None:
    name_max = os.pathconf(tmp_path, "PC_NAME_MAX")
    out = tmp_path / ("x" * name_max)
    outdir.check_out_dir(out, 0)
    tmp = outdir.make_temp_dir(out)
    assert tmp.parent == tmp_path and len(tmp.name) < name_max
    with pytest.raises(ExportError, match="too long"):
        outdir.check_out_dir(tmp_path / ("x" * (name_max + 1)), 0)


def test_free_space_is_checked(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="Not enough free space"):
        outdir.check_out_dir(tmp_path / "m", 1 << 60)


# --- 17: stale temp folders -----------------------------------------------------------


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_sweep_removes_only_our_dead_and_old_temp_folders(tmp_path: Path) -> None:
    out = tmp_path / "model"
    old = time.time() - 2 * outdir.LEGACY_STALE_AFTER_S
    dead = _dead_pid()
    names = {
        f".model.tmp-{dead}-abc123": True,  # ours, process gone, old
        ".model.tmp-k2x9qa_p": True,  # an earlier version's (no PID), old
        f".model.tmp-{os.getpid()}-live01": False,  # a live run's
        f".other.tmp-{dead}-abc123": False,  # another target's
        "model.tmp-1-x": False,  # not hidden: not ours
    }
    for name in names:
        (tmp_path / name).mkdir()
        (tmp_path / name / "weights.bin").write_bytes(b"x")
        os.utime(tmp_path / name, (old, old))
    young = tmp_path / f".model.tmp-{dead}-young1"
    young.mkdir()  # a killed run just now: not "older than a run" yet
    file_named_like_ours = tmp_path / f".model.tmp-{dead}-file01"
    file_named_like_ours.write_text("a file, not a folder")
    os.utime(file_named_like_ours, (old, old))

    # older than a run, but whose process cannot be asked about (an earlier version's
    # name; any on Windows): kept for the hour another run's export could still take
    unaskable = tmp_path / ".model.tmp-q7v2kd_m"
    unaskable.mkdir()
    between = time.time() - 2 * outdir.STALE_AFTER_S
    os.utime(unaskable, (between, between))

    removed = {p.name for p in outdir.sweep_stale(out)}
    assert removed == {n for n, gone in names.items() if gone}
    for name, gone in names.items():
        assert (tmp_path / name).exists() is not gone, name
    assert young.exists() and file_named_like_ours.exists() and unaskable.exists()


# --- 16: OS and TensorFlow failures as one readable line ----------------------------------


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (errno.EROFS, "read-only"),
        (errno.ENOSPC, "not enough free disk space"),
        (errno.ENAMETOOLONG, "too long"),
        (errno.EACCES, "permission denied"),
    ],
)
def test_os_errors_are_described_by_errno(code: int, words: str) -> None:
    line = describe(OSError(code, os.strerror(code), "/x/model"))
    assert line is not None and words in line and "/x/model" in line
    assert "\n" not in line


def test_tensorflow_errors_are_described_by_type() -> None:
    from app.core.tf_runtime import tf_modules

    tf, _ = tf_modules()
    exc = tf.errors.ResourceExhaustedError(None, None, "x.bin; No space left on device\nmore")
    assert describe(exc) == "Out of disk space or memory (x.bin; No space left on device)"
    assert "TensorFlow failed" in (describe(tf.errors.InternalError(None, None, "boom")) or "")
    assert describe(ValueError("a bug")) is None  # a bug keeps its traceback


def test_gui_task_failure_shows_an_os_error_as_a_readable_line() -> None:
    pytest.importorskip("PySide6")
    from app.gui.tasks import TaskError

    err = TaskError(OSError(errno.ENOSPC, "No space left on device", "/m"), "details")
    assert err.is_user_error
    assert err.message.startswith("/m: there is not enough free disk space")
    bug = TaskError(KeyError("x"), "details")
    assert not bug.is_user_error and "Something went wrong" in bug.message


# --- 19: every photo not used, every product not trained ------------------------------


def test_report_lists_unsupported_tiny_unticked_and_untrained(tmp_path: Path, grocery) -> None:
    good = sorted((grocery / "train/Fruit/Kiwi").rglob("*.jpg"))[:3]
    for name in ("A", "B", "C", "D"):
        (tmp_path / name).mkdir()
    for i, p in enumerate(good[:2]):
        (tmp_path / "A" / f"{i}.jpg").write_bytes(p.read_bytes())
    (tmp_path / "B" / "ok.jpg").write_bytes(good[2].read_bytes())
    (tmp_path / "B" / "phone.HEIC").write_bytes(b"\0\0\0\x18ftypheic")
    Image.new("RGB", (31, 200)).save(tmp_path / "B" / "thin.png")
    Image.new("RGB", (20000, 40)).save(tmp_path / "B" / "strip.png")  # 448×1 once reduced
    (tmp_path / "C" / "raw.dng").write_bytes(b"II*\0")  # C: nothing usable
    (tmp_path / "D" / "d.jpg").write_bytes(good[0].read_bytes() + b"\0")
    cat = catalogue_from_folder(tmp_path)
    a, b, c, d = cat.products
    a.images[1] = ImageRef(a.images[1].path, included=False)  # unticked by the owner
    d.included = False
    report = build_dataset(cat).report

    skipped = {Path(s["file"]).name: (s["product"], s["reason"]) for s in report.skipped()}
    assert skipped["phone.HEIC"] == ("B", "not a supported format (HEIC; save it as JPEG or PNG)")
    assert skipped["raw.dng"][1].startswith("not a supported format (DNG")
    assert skipped["thin.png"][0] == "B" and "too small (31×200" in skipped["thin.png"][1]
    assert skipped["strip.png"][1].startswith("too narrow (20000×40 px")
    assert skipped["1.jpg"] == ("A", "left out by you")
    assert {n["product"]: n["reason"] for n in report.not_trained()} == {
        "C": "none of its 1 photo(s) could be used",
        "D": "left out by you",
    }
    lines = report.summary_lines()
    assert any("phone.HEIC" in ln for ln in lines) and any("Left out by you" in ln for ln in lines)


def test_linked_folders_odd_names_and_renamed_photos(tmp_path: Path, grocery) -> None:
    """Photos in a linked folder inside a product were ignored and a link to a missing
    product folder was dropped, neither reported; a folder whose name is not UTF-8 failed
    the export after the whole training (a traceback); a JPEG named .HEIC was refused by
    train but used by predict and teach."""
    good = sorted((grocery / "train/Fruit/Kiwi").rglob("*.jpg"))[:4]
    shop, elsewhere = tmp_path / "shop", tmp_path / "phone"
    for folder in (shop / "A", shop / "B", elsewhere):
        folder.mkdir(parents=True)
    (shop / "A" / "a.jpg").write_bytes(good[0].read_bytes())
    (elsewhere / "p.jpg").write_bytes(good[1].read_bytes())
    (shop / "A" / "more").symlink_to(elsewhere)  # photos kept elsewhere, linked in
    (shop / "A" / "up").symlink_to(shop / "A")  # a link to the folder itself: no loop
    (shop / "B" / "IMG_1.HEIC").write_bytes(good[2].read_bytes())  # a JPEG by content
    (shop / "Lime").symlink_to(tmp_path / "usb" / "Lime")  # the stick is not plugged in
    (shop / "Loop").symlink_to(shop / "Loop")
    latin1 = os.fsdecode(b"Caf\xe9")
    (shop / latin1).mkdir()
    (shop / latin1 / "c.jpg").write_bytes(good[3].read_bytes())

    cat = catalogue_from_folder(shop)
    assert [p.id for p in cat.products] == ["A", "B"]
    assert sorted(im.path.name for im in cat.products[0].images) == ["a.jpg", "p.jpg"]
    report = build_dataset(cat).report
    assert report.skipped() == []  # the .HEIC that is a JPEG is used
    assert {n["product"]: n["reason"] for n in report.not_trained()} == {
        "Lime": "a link to a folder that does not exist",
        "Loop": "a link to a folder that does not exist",
        "Caf\ufffd": "its name is not valid text (UTF-8): rename the folder",
    }
    json.dumps(report.not_trained(), ensure_ascii=False).encode("utf-8")  # JSON can carry it


def test_predict_and_teach_refuse_photos_in_the_training_checks_words(
    tmp_path: Path, tm_export: Path
) -> None:
    """predict and teach said "image is too small or malformed ((1, 448, 3))" where
    train says "too narrow (20000×50 px; …)"; a folder given to teach was "not found"."""
    import shutil

    from app.core.errors import ImageError
    from app.core.flows.recognise import recognise_files
    from app.core.flows.teach import TeachRequest, teach_photos
    from app.core.photo_check import read_photo

    Image.new("RGB", (20000, 50)).save(tmp_path / "strip.png")
    (tmp_path / "empty.jpg").write_bytes(b"")
    for name, words in (("strip.png", "too narrow (20000×50 px"), ("empty.jpg", "empty file")):
        with pytest.raises(ImageError, match=re.escape(f"{name}: {words}")):
            read_photo(tmp_path / name)
    said = list(recognise_files(None, [tmp_path / "strip.png"]))  # type: ignore[arg-type]
    assert said[0].error.startswith("strip.png: too narrow (20000×50 px")
    model = tmp_path / "model"
    model.mkdir()
    for name in ("model.json", "weights.bin"):
        shutil.copy(tm_export / name, model / name)
    (model / "metadata.json").write_text('{"labels": ["1", "2", "3", "4", "5"]}')
    with pytest.raises(ImageError, match="is a folder: give the photos in it"):
        teach_photos(TeachRequest(model, "1", [tmp_path], None))


def test_the_app_shows_the_photo_checks_reasons_as_they_are(tmp_path: Path) -> None:
    from app.core.wording import plain_error

    Image.new("RGB", (4, 4)).save(tmp_path / "tiny.jpg")
    (tmp_path / "x.heic").write_bytes(b"\0")
    for name in ("tiny.jpg", "x.heic"):
        reason = photo_problem(tmp_path / name)
        assert reason is not None and plain_error(reason) == reason
    assert plain_error("unreadable or truncated (image file is truncated)") != ""


def test_photos_a_shop_could_not_download_are_reported_with_their_reason(
    tmp_path: Path, grocery
) -> None:
    """They reached the terminal as notes only: --json said "skipped": [] and a product
    whose every photo 404'd was "it has no photos"."""
    good = sorted((grocery / "train/Fruit/Kiwi").rglob("*.jpg"))[:2]
    products = [
        Product("1", "Kiwi", [ImageRef(good[0]), ImageRef(good[1])]),
        Product("2", "Mango", []),
        Product("3", "Lime", []),
    ]
    gone = [("2", "HTTP 404 for http://shop/assets/m.jpg"), ("3", "HTTP 404 for x")]
    with pytest.raises(DatasetError, match=r"Mango: none of its 1 photo\(s\) could be downloaded"):
        build_dataset(Catalogue(products, not_downloaded=gone))
    products.append(Product("4", "Pear", [ImageRef(good[0])]))
    report = build_dataset(Catalogue(products, not_downloaded=gone)).report
    assert {n["product"]: n["reason"] for n in report.not_trained()} == {
        "2": "none of its 1 photo(s) could be downloaded from the shop (HTTP 404 for "
        "http://shop/assets/m.jpg)",
        "3": "none of its 1 photo(s) could be downloaded from the shop (HTTP 404 for x)",
    }
    assert {"product": "2", "file": "", "reason": "not downloaded: HTTP 404 for "
            "http://shop/assets/m.jpg"} in report.skipped()  # fmt: skip


def test_a_download_a_killed_run_left_half_done_is_swept(tmp_path: Path) -> None:
    """kill -9 during the photo download left ``.<hash>.jpg.<random>.tmp`` files in the
    image cache for good; another run's write in progress (young) is never touched."""
    from app.core.paths import atomic_writer, sweep_stale_writes

    sub = tmp_path / "7d"
    sub.mkdir()
    old, young = sub / ".7d68.jpg.k2x9qa_p.tmp", sub / ".7d69.jpg.a1b2c3d4.tmp"
    for p in (old, young):
        p.write_bytes(b"half a photo")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    with atomic_writer(sub / "7d70.jpg") as fh:
        fh.write(b"a whole photo")
    assert sweep_stale_writes(tmp_path) == 1
    assert sorted(p.name for p in sub.iterdir()) == [".7d69.jpg.a1b2c3d4.tmp", "7d70.jpg"]


def test_two_shop_products_with_one_name_get_a_note(tmp_path: Path, grocery) -> None:
    """Two products called "Kiwi" trained without a word: "often confused: Kiwi → Kiwi"."""
    good = sorted((grocery / "train/Fruit/Kiwi").rglob("*.jpg"))[:3]
    products = [
        Product("12", "Kiwi", [ImageRef(good[0])]),
        Product("15", "kiwi", [ImageRef(good[1])]),
        Product("16", "Lemon", [ImageRef(good[2])]),
    ]
    report = build_dataset(Catalogue(products)).report
    assert report.same_names == [("12", "15")] and report.clashes == []
    assert any(
        line.startswith("Two products are called Kiwi and kiwi (ids 12 and 15)")
        for line in report.summary_lines({"12": "Kiwi", "15": "kiwi", "16": "Lemon"})
    )
    folder = [Product("Apple", "Apple", [ImageRef(good[0])]), Product("apple", "apple", [])]
    report = build_dataset(Catalogue(folder + products[2:])).report
    assert report.same_names == [] and report.clashes == [("Apple", "apple")]  # said once


def test_shop_photos_are_named_as_the_shop_names_them(tmp_path: Path, grocery) -> None:
    """A shop photo's cached copy is named by a hash: "Photo not used: ef50dffe….jpg"
    told the owner nothing they could find in the shop's admin."""
    good = sorted((grocery / "train/Fruit/Kiwi").rglob("*.jpg"))[:2]
    cache = tmp_path / "cache"
    cache.mkdir()
    a, b, c = (cache / f"{h * 40}.jpg" for h in "abc")
    a.write_bytes(good[0].read_bytes())
    b.write_bytes(good[0].read_bytes())  # the same photo uploaded twice
    c.write_bytes(good[1].read_bytes()[:200])  # cut short on the server
    products = [
        Product(
            "7",
            "Kiwi",
            [
                ImageRef(a, "catalog", label="kiwi.jpg"),
                ImageRef(b, "catalog", label="kiwi__02.jpg"),
            ],
        ),
        Product("8", "Lemon", [ImageRef(c, "catalog", label="lemon.jpg"), ImageRef(good[1])]),
        Product("9", "Kiwi bunch", [ImageRef(a, "catalog", label="kiwi.jpg")]),  # shared
    ]
    report = build_dataset(Catalogue(products)).report
    lines = report.summary_lines({"7": "Kiwi", "8": "Lemon", "9": "Kiwi bunch"})
    assert "The same photo (kiwi.jpg) is filed under two products: Kiwi and Kiwi bunch" in lines
    assert "Duplicate photo kiwi__02.jpg (same as kiwi.jpg) used once" in lines
    assert any(line.startswith("Skipped lemon.jpg (Lemon): ") for line in lines)
    named = {s["name"]: s["reason"] for s in report.skipped() if "name" in s}
    assert named["kiwi__02.jpg"] == "the same photo as kiwi.jpg (used once)"
    assert set(named) == {"kiwi__02.jpg", "lemon.jpg"}


def test_a_log_file_on_a_full_disk_is_said_once_not_a_traceback_per_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """logging's default printed "--- Logging error ---" and a traceback to stderr for
    every record: 873 lines over one good training on a full disk."""
    import errno
    import logging

    from app.core import logs

    class Full:
        def write(self, _text: str) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        def flush(self) -> None:
            pass

    logs.setup_logging()
    (handler,) = [h for h in logging.getLogger().handlers if getattr(h, "_dukahub", False)]
    handler.stream = Full()
    try:
        for i in range(5):
            logging.getLogger("app.test").info("line %d", i)
    finally:
        logging.getLogger().removeHandler(handler)
    err = capsys.readouterr().err
    assert "Logging error" not in err and "Traceback" not in err, err
    assert err.count("cannot be written (No space left on device)") <= 1, err
