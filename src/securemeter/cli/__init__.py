"""securemeter.cli."""
