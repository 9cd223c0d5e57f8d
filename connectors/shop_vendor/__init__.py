"""The shop connector: invoices of the server-rendered shop fixture "Kaffeeladen"."""

from .konnector import konnector

__all__ = ["konnector"]
