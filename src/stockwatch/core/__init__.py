"""The pure core of stockwatch: reading, validation, ordering and alert rules.

Nothing in this package opens a file, a socket or a database. Backends (``stockwatch.sqlite``,
later ``stockwatch.aws``) hand it streams and store what it decides, so both follow one set
of rules.
"""
