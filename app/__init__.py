"""Dukahub Model Trainer: teach a point-of-sale camera to recognise a shop's products."""

__version__ = "0.2.5"
