"""Test: the model on the counter camera, a video or photo files (:class:`screen.
RecogniseScreen`), with the till's decision and the cashier's corrections.

Nothing is imported here: the window holds only :mod:`.host` at start-up, which builds
the screen (QtMultimedia, NumPy) on first use.

* :mod:`.host`         — the screen's place in the window, filled on first use
* :mod:`.screen`       — the screen: model, sources, image files, answers
* :mod:`.live`         — live recognition on the shared task runner, newest picture first
* :mod:`.recent`       — the last different pictures and a correction's neighbours
* :mod:`.live_frames`  — "Add frames to counter frames"
* :mod:`.matches`      — the decision, top three and image files on the right
* :mod:`.correct`      — "Is it right? [Right] [No, it is…]", "Teach a product…"
* :mod:`.picker`       — "Which product is it?"
* :mod:`.teach_dialog` — about 10 camera pictures of one product, accepted or dropped
* :mod:`.choices`      — which products to offer a correction, in which order
"""
