"""Storage adapters of channel-owned rows, wired by `bot/bootstrap.py`."""
