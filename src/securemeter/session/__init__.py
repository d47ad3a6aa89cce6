"""securemeter.session."""
