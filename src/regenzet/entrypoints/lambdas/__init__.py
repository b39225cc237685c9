"""AWS Lambda handlers. Each module is a small composition root of its own: it builds the
adapters it needs from environment variables on first use, so importing it does no I/O."""
