"""The desktop app: Qt widgets over the task layer (:mod:`app.core.flows`).

* :mod:`.main`, :mod:`.window` — start-up, the main window and its wiring;
  :mod:`.screen_host` — the screens not on the first window, built on first use
* :mod:`.session` — what the screens share (source, catalogue, model); :mod:`.tasks` —
  the one task runner that moves work off the UI thread; :mod:`.changes` — "what
  changed since the served model"
* :mod:`.screens` — one package per screen; no screen imports another
* :mod:`.camera` — picture sources, the live view, camera dialogs (QtMultimedia, loaded
  on first use); :mod:`.counter` — counter frames and the empty counter
* :mod:`.widgets`, :mod:`.versions_table`, :mod:`.confirm`, :mod:`.decision_widget`,
  :mod:`.photo_viewer`, :mod:`.thumbnails`, :mod:`.guide`, :mod:`.style`,
  :mod:`.single_instance` — shared parts
"""
