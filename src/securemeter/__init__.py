"""securemeter: a security-first DLMS/COSEM meter and head-end."""

__version__ = "0.1.0"
