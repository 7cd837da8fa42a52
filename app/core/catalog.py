"""The old spelling of :mod:`app.core.catalogue`, for code outside issue 14's rename.

The code says "catalogue" (one spelling). The trainer's own modules, ``bench/`` and
the screens still import these names from here until their owners switch; new code
imports :mod:`app.core.catalogue` (an import-linter contract keeps ``app.cli`` and
``app.core.flows`` off this module). Delete it once nothing imports it.
"""

from __future__ import annotations

from .catalogue import (
    IMAGE_FORMATS,
    IMAGE_SUFFIXES,
    SYSTEM_FILES,
    UNSUPPORTED_IMAGE_SUFFIXES,
    ImageRef,
    Product,
    listed_in_folder,
)
from .catalogue import Catalogue as Catalog
from .catalogue import catalogue_from_folder as catalog_from_folder

__all__ = [
    "IMAGE_FORMATS",
    "IMAGE_SUFFIXES",
    "SYSTEM_FILES",
    "UNSUPPORTED_IMAGE_SUFFIXES",
    "Catalog",
    "ImageRef",
    "Product",
    "catalog_from_folder",
    "listed_in_folder",
]
