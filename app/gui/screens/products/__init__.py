"""Products: every product of the shop with its photos (:class:`ProductsScreen`).

* :mod:`.screen`   — the screen: loading, the photo check, the owner's edits
* :mod:`.table`    — the product list's table model and file drops
* :mod:`.photos`   — the chosen product's photos
* :mod:`.warnings` — what the last photo check found, in a line and in detail
"""

from .screen import ProductsScreen
from .table import PATH_ROLE

__all__ = ["PATH_ROLE", "ProductsScreen"]
