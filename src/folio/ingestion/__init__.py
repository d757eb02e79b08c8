"""Turning uploaded files into searchable chunks: extraction, chunking, embedding, indexing."""
