"""securemeter.framing."""
