"""Turning a :class:`~app.core.catalogue.Catalogue` into a training set, with a report.

Cheap checks happen here (file exists, content hash, header readable, duplicate
photos); full decoding happens once per photo during feature extraction, which
adds any late failure to the same report. The report is what the owner sees:
which files were skipped and why, which products have no or one photo.
"""

from __future__ import annotations

import threading
import unicodedata
from dataclasses import dataclass, field
from enum import Enum
from itertools import compress
from pathlib import Path

from .catalogue import Catalogue
from .errors import TooFewProducts
from .images import file_digest
from .names import clash_line, name_clashes, name_key, one_line
from .photo_check import PhotoProblem, check_photo, decoder_words
from .progress import Phase, ProgressHook, Reporter
from .wording import nested_line, orphaned_line

PLACEHOLDER_PRODUCTS = 3  # products sharing one photo from which it is taken for a placeholder
LOOSE_WHY = "beside the product folders, in none of them (put it in its product's folder)"


class SkipKind(Enum):
    """Why a photo of an included product is not trained on."""

    UNREADABLE = "unreadable"  # the photo check or the decoder refused it
    DUPLICATE = "duplicate"  # the same photo as another of the product: used once
    LEFT_OUT = "left out"  # unticked by the owner


@dataclass(frozen=True)
class SkippedPhoto:
    """One photo not trained on: the one record the CLI's lines, ``--json`` and the app's
    list are all written from (no caller re-reads another's wording)."""

    product: str
    path: Path
    kind: SkipKind
    reason: str
    plain: str  # the reason in the owner's words
    same_as: Path | None = None  # DUPLICATE: the photo used instead
    name: str = ""  # a shop photo's file name on the server (``ImageRef.label``)
    same_as_name: str = ""

    @property
    def shown(self) -> str:
        """The photo as the owner knows it: a shop photo by its name on the server, not
        by the hash its cached copy is named by; on one line (a file name may hold one)."""
        return one_line(self.name or self.path.name)

    @property
    def same_as_shown(self) -> str:
        return one_line(
            self.same_as_name or (self.same_as.name if self.same_as is not None else "")
        )

    def as_json(self) -> dict[str, str]:
        out = {"product": self.product, "file": str(self.path), "reason": self.reason}
        if self.name:
            out["name"] = self.name
        return out


@dataclass(frozen=True)
class Sample:
    product_id: str
    path: Path
    digest: str
    origin: str = "folder"


DISABLED_WHY = (
    "disabled in the shop: Vendure does not sell it, so the till could not add it; "
    "enable it there to train it"
)


@dataclass
class DatasetReport:
    unreadable: list[tuple[str, Path, str]] = field(default_factory=list)  # (pid, path, reason)
    no_images: list[str] = field(default_factory=list)
    single_image: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, Path, Path]] = field(default_factory=list)  # (pid, kept, dropped)
    conflicts: list[tuple[Path, Path]] = field(default_factory=list)  # same photo, two products
    conflict_products: list[tuple[str, str]] = field(default_factory=list)  # theirs, in step
    excluded: list[str] = field(default_factory=list)  # switched off by the owner
    excluded_images: list[tuple[str, Path]] = field(default_factory=list)  # photos unticked
    # product ids one letter case (or Unicode form) apart: one folder on Windows and macOS
    clashes: list[tuple[str, str]] = field(default_factory=list)
    # product ids whose names are the same (two "Kiwi" in a shop): told apart by id only
    same_names: list[tuple[str, str]] = field(default_factory=list)
    # str(path) -> the owner's words for each unreadable photo (see PhotoProblem)
    plain: dict[str, str] = field(default_factory=dict)
    loose: list[Path] = field(default_factory=list)  # photos in no product's folder
    # folders that cannot be products (a link to nothing, a name that is not text)
    unusable_folders: list[tuple[str, str]] = field(default_factory=list)
    # a shop's photos that could not be downloaded: (product id, why)
    not_downloaded: list[tuple[str, str]] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)  # product ids disabled in the shop
    nested: list[tuple[str, list[str]]] = field(default_factory=list)  # Catalogue.nested
    orphaned: list[tuple[str, int, Path]] = field(default_factory=list)  # Catalogue.orphaned
    # str(path) -> the photo's name where its file name is not it (``ImageRef.label``)
    photo_names: dict[str, str] = field(default_factory=dict)

    def add_unreadable(self, product: str, path: Path, problem: PhotoProblem) -> None:
        entry = (product, path, problem.reason)
        if entry not in self.unreadable:  # a reused check is trained again
            self.unreadable.append(entry)
        self.plain[str(path)] = problem.plain

    def skipped_photos(self) -> list[SkippedPhoto]:
        """Every photo not trained on, with why: unreadable, duplicates, left out."""
        named = self.photo_names
        out = [
            SkippedPhoto(
                pid,
                path,
                SkipKind.UNREADABLE,
                why,
                self.plain.get(str(path)) or decoder_words(why),
                name=named.get(str(path), ""),
            )
            for pid, path, why in self.unreadable
        ]
        for pid, kept, dropped in self.duplicates:
            kept_name = named.get(str(kept), "") or Path(kept).name
            why = f"the same photo as {kept_name} (used once)"
            out.append(
                SkippedPhoto(
                    pid,
                    Path(dropped),
                    SkipKind.DUPLICATE,
                    why,
                    why,
                    Path(kept),
                    name=named.get(str(dropped), ""),
                    same_as_name=named.get(str(kept), ""),
                )
            )
        for pid, path in self.excluded_images:
            out.append(
                SkippedPhoto(
                    pid,
                    path,
                    SkipKind.LEFT_OUT,
                    "left out by you",
                    "left out",
                    name=named.get(str(path), ""),
                )
            )
        return out

    def skipped(self) -> list[dict[str, str]]:
        """Every photo not trained on, with why: ``{product, file, reason}`` (``--json``)."""
        loose = [{"product": "", "file": str(p), "reason": LOOSE_WHY} for p in self.loose]
        gone = [
            {"product": pid, "file": "", "reason": f"not downloaded: {why}"}
            for pid, why in self.not_downloaded
        ]
        return [s.as_json() for s in self.skipped_photos()] + loose + gone

    def not_trained(self) -> list[dict[str, str]]:
        """Every product left out of the model, with why: ``{product, reason}``."""
        bad: dict[str, int] = {}
        for pid, _path, _reason in self.unreadable:
            bad[pid] = bad.get(pid, 0) + 1
        gone: dict[str, list[str]] = {}
        for pid, why in self.not_downloaded:
            gone.setdefault(pid, []).append(why)
        out = []
        for pid in self.no_images:
            n, missing = bad.get(pid, 0), gone.get(pid, [])
            if missing and not n:
                reason = (
                    f"none of its {len(missing)} photo(s) could be downloaded from the shop "
                    f"({missing[0]})"
                )
            elif missing:
                reason = (
                    f"none of its {n + len(missing)} photo(s) could be used ({len(missing)} "
                    f"not downloaded: {missing[0]})"
                )
            else:
                reason = f"none of its {n} photo(s) could be used" if n else "it has no photos"
            out.append({"product": pid, "reason": reason})
        out += [{"product": pid, "reason": "left out by you"} for pid in self.excluded]
        out += [{"product": name, "reason": why} for name, why in self.unusable_folders]
        out += [{"product": pid, "reason": DISABLED_WHY} for pid in self.disabled]
        return out

    def conflict_lines(self, names: dict[str, str] | None = None) -> list[str]:
        """One line per photo filed under two products, naming the products (a photo
        the shop shares between two products is one cached file: its path twice said
        nothing)."""
        n = names or {}
        out = []
        for (a, _b), (pa, pb) in zip(self.conflicts, self.conflict_products, strict=False):
            photo = self.photo_names.get(str(a)) or Path(a).name
            out.append(
                f"The same photo ({photo}) is filed under two products: "
                f"{n.get(pa, pa)} and {n.get(pb, pb)}"
            )
        return out

    def summary_lines(self, names: dict[str, str] | None = None) -> list[str]:
        n = names or {}

        def nm(pid: str) -> str:
            return n.get(pid, pid)

        out = [nested_line(pid, subs) for pid, subs in self.nested]
        out += [orphaned_line(pid, n, folder) for pid, n, folder in self.orphaned]
        if self.loose:
            out.append(
                f"{len(self.loose)} photo(s) not used: {LOOSE_WHY} — "
                + ", ".join(p.name for p in self.loose[:10])
                + (" …" if len(self.loose) > 10 else "")
            )
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
        skipped = self.skipped_photos()
        for s in skipped:
            if s.kind is SkipKind.UNREADABLE:
                out.append(f"Skipped {s.shown} ({nm(s.product)}): {s.reason}")
        for s in skipped:
            if s.kind is SkipKind.DUPLICATE and s.same_as is not None:
                out.append(f"Duplicate photo {s.shown} (same as {s.same_as_shown}) used once")
        out += self.conflict_lines(n)
        out += [clash_line(a, b, nm(a), nm(b)) for a, b in self.clashes]
        for a, b in self.same_names:
            same = unicodedata.normalize("NFC", nm(a)) == unicodedata.normalize("NFC", nm(b))
            out.append(
                f"Two products are called {nm(a)} (ids {a} and {b}): the till and this app's "
                "reports show the same name for either; rename one in the shop"
                if same
                else f"Two products are called {nm(a)} and {nm(b)} (ids {a} and {b}): the till "
                "and this app's reports tell them apart only by capitals; rename one in the shop"
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
                why = bad[s.digest]
                report.add_unreadable(s.product_id, s.path, PhotoProblem(why, decoder_words(why)))
            else:
                keep.append(s)
        return _finish(self.labels, self.names, keep, report, self.channel_id)


def build_dataset(
    catalogue: Catalogue,
    *,
    on_progress: ProgressHook | None = None,
    cancel: threading.Event | None = None,
) -> Dataset:
    report = DatasetReport()
    progress = Reporter(on_progress, cancel)
    products = [p for p in catalogue.products]
    report.excluded = [p.id for p in products if not p.included]
    report.loose = list(catalogue.loose)
    report.unusable_folders = list(catalogue.unusable_folders)
    report.not_downloaded = list(catalogue.not_downloaded)
    report.disabled = [pid for pid, _name in catalogue.disabled]
    report.nested = list(catalogue.nested)
    report.orphaned = list(catalogue.orphaned)
    report.clashes = name_clashes([p.id for p in products])
    active = [p for p in products if p.included]
    named: dict[str, str] = {}
    for p in active:
        key = name_key(p.display_name)
        if key not in named:
            named[key] = p.id
        elif (named[key], p.id) not in report.clashes:  # a folder's ids are its names
            report.same_names.append((named[key], p.id))
    total = sum(len(p.active_images()) for p in active) or 1
    # the first copy of a photo in each product (a copy in the same product is dropped)
    # and anywhere (a copy in another product is a conflict, trained in both)
    seen: dict[tuple[str, str], Sample] = {}
    first: dict[str, Sample] = {}
    samples: list[Sample] = []
    done = 0
    for product in active:
        report.excluded_images += [
            (product.id, im.path) for im in product.images if not im.included
        ]
        report.photo_names.update({str(im.path): im.label for im in product.images if im.label})
        for ref in product.active_images():
            done += 1
            if done % 25 == 0:
                progress(Phase.PREPARING, done / total, f"Checking photos ({done}/{total})")
            problem = check_photo(ref.path, to_learn_from=True)
            if problem is not None:
                report.add_unreadable(product.id, ref.path, problem)
                continue
            digest = file_digest(ref.path)
            prev = seen.get((digest, product.id))
            if prev is not None:
                report.duplicates.append((product.id, prev.path, ref.path))
                continue
            other = first.get(digest)
            if other is not None:
                report.conflicts.append((other.path, ref.path))
                report.conflict_products.append((other.product_id, product.id))
            sample = Sample(product.id, ref.path, digest, ref.origin)
            seen[digest, product.id] = sample
            first.setdefault(digest, sample)
            samples.append(sample)
    samples = _without_placeholders(samples, report)
    labels = [p.id for p in active]
    return _finish(labels, catalogue.names(), samples, report, catalogue.channel_id)


def _without_placeholders(samples: list[Sample], report: DatasetReport) -> list[Sample]:
    """Drop a photo filed under :data:`PLACEHOLDER_PRODUCTS` or more products: a shop's
    logo or "no image" picture given to every product without a photo. Trained as each of
    them, it told them apart from nothing (the model named one of them at random), and
    ``train`` said "filed under two products" once for every other one. Two products may
    share a photo (a single and its pack): trained in both, said once."""
    products: dict[str, set[str]] = {}
    for s in samples:
        products.setdefault(s.digest, set()).add(s.product_id)
    shared = {d for d, ps in products.items() if len(ps) >= PLACEHOLDER_PRODUCTS}
    if not shared:
        return samples
    dropped = {str(s.path) for s in samples if s.digest in shared}
    for s in samples:
        if s.digest in shared:
            n = len(products[s.digest])
            why = f"the photo of {n} products: a logo or placeholder tells them apart by nothing"
            report.add_unreadable(s.product_id, s.path, PhotoProblem(why, why))
    keep = [not dropped & {str(a), str(b)} for a, b in report.conflicts]
    report.conflicts = list(compress(report.conflicts, keep))
    report.conflict_products = list(compress(report.conflict_products, keep))
    return [s for s in samples if s.digest not in shared]


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
        unusable = [r for r in report.not_trained() if r["product"] in report.no_images]
        if unusable:  # which ones failed, and why: the owner's next step
            shown = "; ".join(f"{names.get(r['product'], r['product'])}: {r['reason']}"
                              for r in unusable[:5])  # fmt: skip
            why = {str(p): w for pid, p, w in report.unreadable if pid in report.no_images}
            first = "; ".join(f"{Path(p).name}: {w}" for p, w in list(why.items())[:3])
            message += f"; {shown}{' …' if len(unusable) > 5 else ''}"
            message += f" — {first}" if first else ""
        for pid, subs in report.nested[:2]:  # a folder of product folders, one level up
            message += f"; {nested_line(pid, subs)}"
        if report.unusable_folders:
            folders = report.unusable_folders
            shown = "; ".join(f"{name}: {why}" for name, why in folders[:5])
            message += f"; folders not used: {shown}{' …' if len(folders) > 5 else ''}"
        if report.excluded:
            shown = ", ".join(names.get(p, p) for p in report.excluded[:10])
            more = " …" if len(report.excluded) > 10 else ""
            message += (
                f"; {len(report.excluded)} more left out by you in the app's Products screen "
                f"({shown}{more}): tick them there to train them"
            )
        if report.disabled:
            shown = ", ".join(names.get(p, p) for p in report.disabled[:10])
            more = " …" if len(report.disabled) > 10 else ""
            message += (
                f"; {len(report.disabled)} more disabled in the shop ({shown}{more}): "
                "enable them there to train them"
            )
        raise TooFewProducts(message + ".", report)
    return Dataset(
        labels=kept,
        names={p: names.get(p, p) for p in labels},  # excluded ones too, for the report
        samples=[s for s in samples if counts[s.product_id] > 0],
        report=report,
        channel_id=channel_id,
    )
