"""The six screens of the main window, one package (or module) each.

A screen imports the shared parts of :mod:`app.gui` (session, task runner, widgets,
the camera and counter packages) and the task layer, never another screen: what one
screen asks of another goes through a signal the window connects (an import-linter
contract in ``pyproject.toml``).
"""
