"""Files, DynamoDB, the built-in sample, record validation and run history."""
