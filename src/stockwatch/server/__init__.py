"""``stockwatch serve``: the API, the dashboard and the background workers in one process."""
