"""The embedded backend: one data directory holding an SQLite database and the uploaded files."""
