"""The AWS backend: S3 as the object store, DynamoDB (with its stream) as the inventory table
and change feed, SNS as an alert channel. The rules are the core's, as on one machine."""
