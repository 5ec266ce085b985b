"""Training recipes: Lightning modules for the envelope quantizers (needs the [train] extra)."""
