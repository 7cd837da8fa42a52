"""Headless core: datasets, training, export, shop-server client. Never imports Qt."""
