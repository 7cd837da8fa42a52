"""Everything between the trainer and a shop's Vendure server (Admin API + public assets).

One :class:`ShopClient` per server (transport, login, channels; safe across threads);
the jobs are functions taking the client:

* ``graphql``   — the Admin API documents;
* ``transport`` — :class:`ShopClient`: address checks, GraphQL POSTs, retries, login;
* ``sessions``  — remembered session tokens (OS keyring, else a 0600 file);
* ``catalogue`` — :func:`list_catalogue` (no downloads) and :func:`fetch_catalogue`;
* ``publishing`` — :func:`publish` with verification, status, rollback;
* ``feedback``  — photos from the till: :func:`list_feedback`, :func:`download_image`,
  :func:`feedback_stats`, :func:`delete_feedback`.

No Qt here: the GUI runs these in its task runner. The names below are the package's
public API; the errors live in :mod:`app.core.errors`. Server-side counterpart:
``packaging/vendure-plugin``.
"""

from __future__ import annotations

from .catalogue import (
    CatalogueListing,
    FetchResult,
    FetchStats,
    ListedAsset,
    ListedProduct,
    PhotoFailure,
    fetch_catalogue,
    list_catalogue,
    product_ids,
    product_names,
)
from .feedback import (
    FeedbackItem,
    FeedbackPage,
    Prediction,
    VersionStats,
    delete_feedback,
    download_image,
    feedback_stats,
    iter_feedback,
    list_feedback,
)
from .publishing import (
    PublishResult,
    list_versions,
    model_status,
    publish,
    published_metadata,
    rollback,
)
from .sessions import store_description as session_store_description
from .transport import ChannelInfo, ShopClient, is_loopback, normalise_server_url

__all__ = [
    "CatalogueListing",
    "ChannelInfo",
    "FeedbackItem",
    "FeedbackPage",
    "FetchResult",
    "FetchStats",
    "ListedAsset",
    "ListedProduct",
    "PhotoFailure",
    "Prediction",
    "PublishResult",
    "ShopClient",
    "VersionStats",
    "delete_feedback",
    "download_image",
    "feedback_stats",
    "fetch_catalogue",
    "is_loopback",
    "iter_feedback",
    "list_catalogue",
    "list_feedback",
    "list_versions",
    "model_status",
    "normalise_server_url",
    "product_ids",
    "product_names",
    "publish",
    "published_metadata",
    "rollback",
    "session_store_description",
]
