"""The shop's counter on the Products and Train screens: counter frames and the empty
counter, each a one-line panel with its capture dialog (:mod:`app.core.flows.counter`).

The panels (:mod:`.panels`, :mod:`.frames_dialog`) load at the window's start-up and
import neither NumPy nor QtMultimedia; the capture dialogs (:mod:`.capture`) load when
the owner opens one.
"""
