"""The HTTP API and the dashboard (FastAPI), over the same pipeline as the CLI."""
