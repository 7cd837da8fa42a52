"""The owner's tasks, one module each: the only part of ``app.core`` the command line
and the app's screens call (besides the support modules named in ``pyproject.toml``'s
import-linter contracts).

Each task takes typed inputs and returns a typed result (dataclasses, never a bare
dict), takes ``on_progress`` and a cancel event where the work is long, and treats
:class:`~app.core.errors.Cancelled` as an outcome. Tasks compose the domain modules
below them (sources, catalogue, pipeline, shop, folder publishing…) and never each
other's internals; a name a caller needs from the domain is re-exported by the task
it belongs to.

* :mod:`.open_source`  — a shop channel, a folder or the sample shop → its catalogue
* :mod:`.check_photos` — which photos training can use, and why not the others
* :mod:`.train`        — check → train → export, with the time left while training
* :mod:`.recognise`    — load an exported model and run it on photos, as the till does
* :mod:`.publish`      — publish, status, rollback, versions: a shop or a folder
* :mod:`.changes`      — what changed in a shop's catalogue since the served model
* :mod:`.keep_current` — ``sync``: train and publish only when something changed
* :mod:`.teach`        — teach a model photos (or the counter camera's pictures) of one
  product in place
* :mod:`.counter`      — the shop's counter: counter frames, photos of the empty counter
* :mod:`.login`        — a shop login: a remembered session, or a user and password
* :mod:`.inspect`      — validate a model folder and read what it says about itself
* :mod:`.earlier_models` — the models each training kept on this computer; use one again
* :mod:`.command`      — what every command-line run sets up first
* :mod:`.till_photos`  — photos from the till: review, accept, drop; accuracy at the till
* :mod:`.standings`    — what each product was trained from, how reliable it is, and
  which to photograph first
"""
