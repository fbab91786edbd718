"""Where nights come from: job files, the built-in sample, the DynamoDB catalog, and the record
validation that turns records into a Night."""
