"""The HTTP API (Litestar): thin synchronous handlers over the workshop's use cases."""
