"""Generator of the demo catalog in ``seeds/`` (run ``python seeds/generate.py``)."""
