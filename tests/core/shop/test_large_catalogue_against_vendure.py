"""A supermarket on the real Vendure (issue 22, item 4): 5,000 products, its 27 MB model.

A server of its own with larger upload limits; the products are written in bulk by the
test server (src/bulk.ts) and read back through Vendure's own API. The served model is a
real export of an untrained head with every product as a label (tests/large_catalogue.py).
Timings and peak memory of the whole CLI at 50 / 1,000 / 5,000 products are in
``bench/sync_noop.py``; here the invariants that make them hold.
"""

from __future__ import annotations

import math
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from large_catalogue import LARGE_UPLOADS, untrained_export
from vendure_server.fixtures import VendureServer, start_large_shop, stop_server

from app.core.shop import ShopClient
from app.core.shop.graphql import PRODUCTS

pytestmark = pytest.mark.slow

N = 5000
CODE = "supermarket"


def client_for(server: VendureServer) -> ShopClient:
    c = ShopClient(server.url)
    c.login(server.admin_user, server.admin_password)
    c.select_channel(CODE)
    return c


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Iterator[VendureServer]:
    work = tmp_path_factory.mktemp("supermarket")
    proc, server = start_large_shop(work, CODE, N, 2, LARGE_UPLOADS)
    try:
        yield server
    finally:
        stop_server(proc)


@dataclass
class Published:
    model: Path
    weights: int  # bytes of weights.bin
    reports: list = field(default_factory=list)  # (Progress, traced bytes now)
    upload_peak: int = 0  # traced bytes at most from the first upload report to the end
    before_upload: int = 0  # traced bytes at the first upload report


@pytest.fixture(scope="module")
def published(shop: VendureServer, base_weights: Path, tmp_path_factory) -> Published:
    """The channel's 5,000-product model, exported and published once for the module."""
    from app.core.shop import publish

    root = tmp_path_factory.mktemp("supermarket-model")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DUKAHUB_TRAINER_HOME", str(root / "home"))
        client = client_for(shop)
        model = untrained_export(client, base_weights, root / "model")
        done = Published(model, (model / "weights.bin").stat().st_size)

        def seen(p) -> None:
            if p.message.startswith("Uploading") and not done.before_upload:
                done.before_upload = tracemalloc.get_traced_memory()[0]
                tracemalloc.reset_peak()
            done.reports.append(p)

        tracemalloc.start()
        try:
            publish(client, model, on_progress=seen)
            done.upload_peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    return done


def test_the_27_mb_model_publishes_with_progress_and_one_copy_of_its_files(
    published: Published,
) -> None:
    assert published.weights > 25_000_000  # 1,280 features x 5,000 products, and the base
    reports = published.reports
    uploading = [p for p in reports if p.message.startswith("Uploading")]
    assert len(uploading) > 80  # every 256 kB of the body
    # the label check pages through 5,000 products saying how far it is
    labels = [p.message for p in reports if p.message.startswith("Checking the labels")]
    assert any(m.endswith(f"4,900 of {N:,}") for m in labels)
    # read back as the POS would, with progress every MB
    checked = [p for p in reports if p.phase == "verifying" and "weights.bin" in p.message]
    assert len(checked) >= 25 and checked[-1].message.endswith("27 of 27 MB")
    fractions = [p.fraction for p in reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    # memory from the upload on: the files once (read for the upload); the body is not
    # joined into a second copy and the read-back is compared as it arrives
    extra = published.upload_peak - published.before_upload
    assert extra < published.weights / 2, f"{extra / 1e6:.1f} MB above the files"


def test_a_sync_of_the_unchanged_5000_products_pages_through_in_bounded_memory(
    shop: VendureServer, published: Published
) -> None:
    from app.core.flows.keep_current import sync_channel
    from app.core.flows.train import TrainOptions

    client = client_for(shop)
    pages = []
    gql = client.gql

    def counted(query: str, *args, **kwargs):
        pages.append(query == PRODUCTS)
        return gql(query, *args, **kwargs)

    client.gql = counted
    tracemalloc.start()
    try:
        out = sync_channel(client, TrainOptions())
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert out.status == "up to date" and out.exit_code == 0, out.message
    assert sum(pages) == math.ceil(N / client.page_size)  # a page at a time, no more
    # what a sync holds of a 5,000-product catalogue: a few kB a product at most (the
    # listing, the fingerprint, the served metadata.json; measured 2.4), never the photos
    assert peak < 5_000 * N, f"{peak / N:.0f} bytes a product"
