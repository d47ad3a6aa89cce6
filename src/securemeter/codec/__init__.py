"""securemeter.codec."""
