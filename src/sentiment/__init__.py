"""Sentiment classifier service: shared text features, LiteRT runtime and the Falcon API."""

__version__ = "0.1.0"
