"""Publish: to the shop, to a folder the shop serves, or a copy (:class:`PublishScreen`).

* :mod:`.screen` — the screen: the shop's panel, the folder's panel and the copy
* :mod:`.panel`  — one publish panel for either place: served, versions, publish, rollback
* :mod:`.places` — how a shop channel and a folder are named to the owner
"""

from .screen import PublishScreen

__all__ = ["PublishScreen"]
