"""securemeter.headend."""
