"""Sans-IO link layers: ``wrapper`` (IEC 62056-47, TCP/UDP) and ``hdlc`` (IEC 62056-46).

Bytes in, events or frames out; no sockets, clocks or threads. This package imports only
``securemeter.errors`` and ``securemeter.codec``.
"""
