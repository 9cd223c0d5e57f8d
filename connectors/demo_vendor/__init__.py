"""The demo connector: bills of the demo vendor site "Demo Énergie"."""

from .konnector import konnector

__all__ = ["konnector"]
