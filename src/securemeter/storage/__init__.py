"""securemeter.storage."""
