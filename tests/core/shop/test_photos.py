"""Where a listed photo is fetched from (a security audit: a shop reached over https had
its photos fetched over plain http from any host, where anyone on the way could swap
the photos the model learns from)."""

from __future__ import annotations

import pytest

from app.core.errors import ShopError
from app.core.shop.photos import photo_url


def test_a_photo_on_the_shops_own_host_is_fetched_over_https():
    shop = "https://shop.example"
    assert photo_url(shop, "http://shop.example/assets/a.jpg") == (
        "https://shop.example/assets/a.jpg"
    )
    assert photo_url(shop, "http://shop.example:80/assets/a.jpg") == (
        "https://shop.example/assets/a.jpg"
    )
    assert photo_url(shop, "/assets/a.jpg") == "https://shop.example/assets/a.jpg"
    assert photo_url(shop, "https://cdn.example/a.jpg") == "https://cdn.example/a.jpg"


@pytest.mark.parametrize(
    "source", ["http://cdn.example/a.jpg", "http://shop.example:3000/assets/a.jpg"]
)
def test_a_photo_over_plain_http_elsewhere_is_refused_for_an_https_shop(source):
    with pytest.raises(ShopError, match=r"is unencrypted \(http://\) while the shop is reached"):
        photo_url("https://shop.example", source)


def test_a_shop_reached_over_http_keeps_its_addresses():
    """The owner accepted plain http for the shop itself (``--insecure``, the app's
    question), or it runs on this computer."""
    shop = "http://127.0.0.1:3000"
    assert photo_url(shop, "http://127.0.0.1:3000/assets/a.jpg") == (
        "http://127.0.0.1:3000/assets/a.jpg"
    )
    assert photo_url(shop, "http://cdn.example/a.jpg") == "http://cdn.example/a.jpg"
