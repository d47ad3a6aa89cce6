"""securemeter.transports."""
