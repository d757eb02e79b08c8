"""Records (cases): rows of CSV or JSONL batches, each a searchable document of kind `record` with a case workflow."""
