"""Alert channels: where an upload's digest goes (the log, a webhook; email and SNS later)."""
