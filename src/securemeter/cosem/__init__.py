"""securemeter.cosem."""
