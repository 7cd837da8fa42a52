"""Turning a :class:`~app.core.catalog.Catalog` into a training set, with a report.

Cheap checks happen here (file exists, content hash, header readable, duplicate
photos); full decoding happens once per photo during feature extraction, which
adds any late failure to the same report. The report is what the owner sees:
which files were skipped and why, which products have no or one photo.
"""

from __future__ import annotations

import os
import stat
import threading
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from .catalog import IMAGE_FORMATS, UNSUPPORTED_IMAGE_SUFFIXES, Catalog
from .errors import DatasetError
from .images import MAX_PIXELS, file_digest
from .progress import ProgressHook, Reporter

MIN_SIDE = 32  # px: smaller photos hold nothing the 224-px model can learn from
# How the photo check's own reasons begin: already in the owner's words, so the app
# shows them as they are (decoder messages get plainer words instead).
OWNER_READABLE_REASONS = (
    "not a supported format",
    "too small",
    "image too large",
    "not a photo",
    "a link to",
    "not a regular file",
)


@dataclass(frozen=True)
class Sample:
    product_id: str
    path: Path
    digest: str
    origin: str = "folder"


@dataclass
class DatasetReport:
    unreadable: list[tuple[str, Path, str]] = field(default_factory=list)  # (pid, path, reason)
    no_images: list[str] = field(default_factory=list)
    single_image: list[str] = field(default_factory=list)
    duplicates: list[tuple[Path, Path]] = field(default_factory=list)  # (kept, dropped)
    conflicts: list[tuple[Path, Path]] = field(default_factory=list)  # same photo, two products
    excluded: list[str] = field(default_factory=list)  # switched off by the owner
    excluded_images: list[tuple[str, Path]] = field(default_factory=list)  # photos unticked
    # product ids one letter case (or Unicode form) apart: one folder on Windows and macOS
    clashes: list[tuple[str, str]] = field(default_factory=list)

    def skipped(self) -> list[dict[str, str]]:
        """Every photo not trained on, with why: ``{product, file, reason}`` (``--json``)."""
        out = [
            {"product": pid, "file": str(path), "reason": reason}
            for pid, path, reason in self.unreadable
        ]
        pid_of = {str(path): pid for pid, path, _ in self.unreadable}
        for kept, dropped in self.duplicates:
            out.append(
                {
                    "product": pid_of.get(str(kept), ""),
                    "file": str(dropped),
                    "reason": f"the same photo as {Path(kept).name} (used once)",
                }
            )
        for pid, path in self.excluded_images:
            out.append({"product": pid, "file": str(path), "reason": "left out by you"})
        return out

    def not_trained(self) -> list[dict[str, str]]:
        """Every product left out of the model, with why: ``{product, reason}``."""
        bad: dict[str, int] = {}
        for pid, _path, _reason in self.unreadable:
            bad[pid] = bad.get(pid, 0) + 1
        out = []
        for pid in self.no_images:
            n = bad.get(pid, 0)
            reason = f"none of its {n} photo(s) could be used" if n else "it has no photos"
            out.append({"product": pid, "reason": reason})
        out += [{"product": pid, "reason": "left out by you"} for pid in self.excluded]
        return out

    def summary_lines(self, names: dict[str, str] | None = None) -> list[str]:
        n = names or {}

        def nm(pid: str) -> str:
            return n.get(pid, pid)

        out = []
        if self.no_images:
            out.append(
                f"{len(self.no_images)} product(s) have no usable photo and are left out: "
                + ", ".join(nm(p) for p in self.no_images[:10])
                + (" …" if len(self.no_images) > 10 else "")
            )
        if self.single_image:
            out.append(
                f"{len(self.single_image)} product(s) have only one photo (trained with "
                "augmented copies; add counter photos for better accuracy): "
                + ", ".join(nm(p) for p in self.single_image[:10])
                + (" …" if len(self.single_image) > 10 else "")
            )
        for pid, path, reason in self.unreadable:
            out.append(f"Skipped {path.name} ({nm(pid)}): {reason}")
        for kept, dropped in self.duplicates:
            out.append(f"Duplicate photo {dropped.name} (same as {kept.name}) used once")
        for a, b in self.conflicts:
            out.append(f"The same photo is filed under two products: {a} and {b}")
        for a, b in self.clashes:
            out.append(
                f"Products {nm(a)} and {nm(b)} differ only in upper/lower case: on Windows and "
                "macOS they are one folder, so copying this shop there merges them; rename one"
            )
        if self.excluded or self.excluded_images:
            out.append(
                f"Left out by you: {len(self.excluded)} product(s)"
                + (f" ({', '.join(nm(p) for p in self.excluded[:10])})" if self.excluded else "")
                + f" and {len(self.excluded_images)} photo(s)"
            )
        return out


@dataclass
class Dataset:
    labels: list[str]  # output order of the model
    names: dict[str, str]  # every product of the catalogue, so reports can name left-out ones
    samples: list[Sample]
    report: DatasetReport
    channel_id: str = ""

    def counts(self) -> dict[str, int]:
        c = dict.fromkeys(self.labels, 0)
        for s in self.samples:
            c[s.product_id] += 1
        return c

    def drop(self, bad: dict[str, str]) -> Dataset:
        """Remove photos that failed to decode (digest -> reason) and re-check products."""
        if not bad:
            return self
        keep, report = [], self.report
        for s in self.samples:
            if s.digest in bad:
                entry = (s.product_id, s.path, bad[s.digest])
                if entry not in report.unreadable:  # a reused check is trained again
                    report.unreadable.append(entry)
            else:
                keep.append(s)
        return _finish(self.labels, self.names, keep, report, self.channel_id)


def build_dataset(
    catalog: Catalog,
    *,
    on_progress: ProgressHook | None = None,
    cancel: threading.Event | None = None,
) -> Dataset:
    report = DatasetReport()
    progress = Reporter(on_progress, cancel)
    products = [p for p in catalog.products]
    report.excluded = [p.id for p in products if not p.included]
    report.clashes = name_clashes([p.id for p in products])
    active = [p for p in products if p.included]
    total = sum(len(p.active_images()) for p in active) or 1
    seen: dict[str, Sample] = {}
    samples: list[Sample] = []
    done = 0
    for product in active:
        report.excluded_images += [
            (product.id, im.path) for im in product.images if not im.included
        ]
        for ref in product.active_images():
            done += 1
            if done % 25 == 0:
                progress("preparing", done / total, f"Checking photos ({done}/{total})")
            reason = photo_problem(ref.path)
            if reason:
                report.unreadable.append((product.id, ref.path, reason))
                continue
            digest = file_digest(ref.path)
            prev = seen.get(digest)
            if prev is not None:
                if prev.product_id == product.id:
                    report.duplicates.append((prev.path, ref.path))
                else:
                    report.conflicts.append((prev.path, ref.path))
                if prev.product_id == product.id:
                    continue
            sample = Sample(product.id, ref.path, digest, ref.origin)
            seen.setdefault(digest, sample)
            samples.append(sample)
    labels = [p.id for p in active]
    return _finish(labels, catalog.names(), samples, report, catalog.channel_id)


def _finish(
    labels: list[str],
    names: dict[str, str],
    samples: list[Sample],
    report: DatasetReport,
    channel_id: str,
) -> Dataset:
    counts = dict.fromkeys(labels, 0)
    for s in samples:
        counts[s.product_id] += 1
    # merged, never reset: a product left out by an earlier check (its photos all failed
    # the header check) stays listed when a later check (a late decode failure) runs
    report.no_images += [p for p in labels if counts[p] == 0 and p not in report.no_images]
    report.single_image = [p for p in labels if counts[p] == 1]
    kept = [p for p in labels if counts[p] > 0]
    if len(kept) < 2:
        included = len(kept) + len(report.no_images)
        message = (
            f"Need photos of at least two products to train; found {len(kept)} product(s) "
            f"with usable photos (out of {included} included)"
        )
        if report.excluded:
            shown = ", ".join(names.get(p, p) for p in report.excluded[:10])
            more = " …" if len(report.excluded) > 10 else ""
            message += (
                f"; {len(report.excluded)} more left out by you in the app's Products screen "
                f"({shown}{more}): tick them there to train them"
            )
        raise DatasetError(message + ".")
    return Dataset(
        labels=kept,
        names={p: names.get(p, p) for p in labels},  # excluded ones too, for the report
        samples=[s for s in samples if counts[s.product_id] > 0],
        report=report,
        channel_id=channel_id,
    )


def name_clashes(ids: list[str]) -> list[tuple[str, str]]:
    """Pairs of product ids that name one folder on Windows and macOS (case-insensitive
    and, on macOS, blind to the Unicode form): ``Apple`` and ``apple``."""
    first: dict[str, str] = {}
    out = []
    for pid in ids:
        key = unicodedata.normalize("NFC", pid).casefold()
        if key in first:
            out.append((first[key], pid))
        else:
            first[key] = pid
    return out


def photo_problem(path: Path) -> str | None:
    """Why a file cannot be used as a photo, from its header alone (None: looks fine).

    Decided by content, not by name: a JPEG saved as ``.jfif`` or without an extension
    is a photo, a text file is "not a photo". The suffix list only names formats we
    recognise but cannot read (HEIC, raw). Only regular files are opened, so a named
    pipe never blocks the check.
    """
    suffix = path.suffix.lower()
    try:
        st = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            try:
                target = os.readlink(path)
            except OSError:
                target = "?"
            return f"a link to a file that does not exist ({target})"
        return "file not found"
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file (a named pipe, device or socket)"
    if suffix in UNSUPPORTED_IMAGE_SUFFIXES:
        return f"not a supported format ({suffix[1:].upper()}; save it as JPEG or PNG)"
    if st.st_size == 0:
        return "empty file"
    try:
        with Image.open(path) as im:
            w, h = im.size
    except FileNotFoundError:
        return "file not found"
    except UnidentifiedImageError:
        if suffix in IMAGE_FORMATS:
            return "not an image or an unsupported format"
        return "not a photo"
    except (OSError, SyntaxError, ValueError) as exc:
        return f"unreadable ({exc})"
    except Image.DecompressionBombError:  # Pillow's own limit, at twice its warning size
        return "image too large to decode safely"
    if w * h > MAX_PIXELS:
        return f"image too large ({w}×{h})"
    if min(w, h) < MIN_SIDE:
        return f"too small ({w}×{h} px; photos need at least {MIN_SIDE} px a side)"
    return None
