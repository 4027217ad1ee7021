"""webmap: an accessible web-map service for municipal e-services."""

__version__ = "0.1.0"
