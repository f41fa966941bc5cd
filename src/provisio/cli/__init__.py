"""The `provisio` command line."""
