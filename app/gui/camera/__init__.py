"""The counter camera in the app: where live pictures come from and how they are shown.

Every module here imports QtMultimedia or NumPy, so screens import them only when a
camera is needed (the Test screen, a capture dialog), never at the window's start-up:

* :mod:`.images`  — NumPy ↔ QImage, and the "one flat colour" check
* :mod:`.sources` — a webcam, a video file: one ``frame(np.ndarray)`` signal
* :mod:`.view`    — the live picture, letterboxed
* :mod:`.dialogs` — a dialog with a live preview, the timed-capture base, "Take photo"
"""
