"""Indexer: reads factory catalogs, validates them, embeds text and images, writes the index."""
