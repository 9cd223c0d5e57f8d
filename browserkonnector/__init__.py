"""browserkonnector."""
