"""Lambda entry points, one module per function, so each imports only what it needs.

stockwatch.handlers.loader.load_inventory  S3 ObjectCreated (and hand-overs) -> DynamoDB
stockwatch.handlers.checker.check_stock    DynamoDB stream -> alerts -> SNS
stockwatch.handlers.web.api                API Gateway (HTTP API, payload 2.0) -> the web app

This package imports nothing itself: LoadInventory and CheckStock are built without the
web stack (see infra/Makefile), and must not pull it in through here.
"""
