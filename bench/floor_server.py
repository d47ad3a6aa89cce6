"""The floor for the GET benchmark: a minimal asyncio server that answers every IEC 62056-47
wrapper frame with one fixed GET response (a clock value). Nothing DLMS is parsed.

Run: python bench/floor_server.py PORT_FILE   (binds 127.0.0.1 on a free port)
"""

from __future__ import annotations

import asyncio
import os
import sys

# A GET-Response-Normal carrying an octet-string(12) date-time, wrapped 1 -> 16.
_APDU = bytes.fromhex("C401C100090C07EA0301FF0C000000FFC400")
REPLY = bytes.fromhex("000100010010") + len(_APDU).to_bytes(2, "big") + _APDU


class Floor(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buffer = bytearray()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) >= 8:
            length = int.from_bytes(self.buffer[6:8], "big")
            if len(self.buffer) < 8 + length:
                return
            del self.buffer[: 8 + length]
            self.transport.write(REPLY)


async def main(port_file: str) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Floor, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    with open(port_file + ".tmp", "w") as handle:
        handle.write(str(port))
    os.replace(port_file + ".tmp", port_file)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
