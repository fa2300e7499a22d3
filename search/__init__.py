"""Search: text analysis, the index (storage backends), retrieval, fusion and dupe ranking."""
