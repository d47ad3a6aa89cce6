"""securemeter.meter."""
