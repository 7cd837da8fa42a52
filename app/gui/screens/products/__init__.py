"""Products: every product of the shop with its photos (:class:`ProductsScreen`).

* :mod:`.screen`   — the screen: loading, the photo check, the owner's edits
* :mod:`.table`    — the product list's table model, filter, file drops; thumbnails
  only for rows in view once the list stops scrolling
* :mod:`.photos`   — the chosen product's photos
* :mod:`.warnings` — what the last photo check found, in a line and in detail
* :mod:`.standings` — what the local model says of each product; "photograph these first"
* :mod:`.till`, :mod:`.till_review` — photos from the till: how many wait, the review
"""

from .screen import ProductsScreen
from .table import PATH_ROLE

__all__ = ["PATH_ROLE", "ProductsScreen"]
