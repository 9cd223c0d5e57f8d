"""Tests of the demo vendor site (fixtures/demo_vendor_site)."""
