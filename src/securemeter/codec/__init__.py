"""securemeter.codec: pure, stateless encodings (A-XDR data, OBIS, COSEM date-time).

The submodules are the API (``codec.axdr``, ``codec.obis``, ``codec.cosem_time``); the names
most callers need are re-exported here.
"""

from securemeter.codec.axdr import Data, DataType, decode, decode_exact, encode
from securemeter.codec.cosem_time import ClockStatus, CosemDate, CosemDateTime, CosemTime
from securemeter.codec.obis import Obis

__all__ = [
    "ClockStatus",
    "CosemDate",
    "CosemDateTime",
    "CosemTime",
    "Data",
    "DataType",
    "Obis",
    "decode",
    "decode_exact",
    "encode",
]
