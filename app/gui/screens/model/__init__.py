"""Model: what the open model recognises, its files and labels, what the shop serves, and
the earlier models on this computer (:class:`ModelScreen`).

* :mod:`.screen`  — the screen: open a folder, read it, the served model
* :mod:`.summary` — the summary first, and how the served model compares
* :mod:`.earlier` — earlier models: open one, use one again
* :mod:`.till`    — how the served model does at the till, per served version
"""

from .screen import ModelScreen

__all__ = ["ModelScreen"]
