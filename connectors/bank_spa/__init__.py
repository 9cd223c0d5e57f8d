"""The bank connector: accounts and operations of the heavy local-first bank app (``bank_spa_site``)."""

from .konnector import konnector

__all__ = ["konnector"]
