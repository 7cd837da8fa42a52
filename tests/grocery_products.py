"""Ten grocery products with a studio (iconic) photo each: the catalogue-only shop in tests."""

from __future__ import annotations

from pathlib import Path

CATALOGUE_PRODUCTS = (
    "Fruit/Apple/Granny-Smith",
    "Fruit/Banana",
    "Fruit/Kiwi",
    "Fruit/Lemon",
    "Fruit/Pineapple",
    "Vegetables/Carrots",
    "Vegetables/Aubergine",
    "Vegetables/Tomato/Regular-Tomato",
    "Vegetables/Pepper/Red-Bell-Pepper",
    "Vegetables/Cucumber",
)


def iconic(grocery: Path, rel: str) -> Path:
    """The dataset's studio photo of one product (``rel`` as in CATALOGUE_PRODUCTS)."""
    return next((grocery / "iconic-images-and-descriptions" / rel).glob("*_Iconic.jpg"))
