"""Photos the demo attaches (issue 13), drawn by ``scripts/make-demo-media``."""
