"""securemeter.security."""
