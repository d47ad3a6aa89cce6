"""securemeter.apdu."""
