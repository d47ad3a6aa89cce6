"""The floors for the GET benchmark: minimal asyncio servers that answer every IEC 62056-47
wrapper frame with one fixed GET response (a clock value). Nothing DLMS is parsed.

Three styles, because "minimal asyncio server" admits all three and they differ in CPU per
request: ``buffered`` (asyncio.BufferedProtocol reading into one buffer per connection, what
securemeter's transports use), ``protocol`` (asyncio.Protocol callbacks: asyncio reads with
a fresh 256 KiB buffer, which glibc maps and unmaps for every request) and ``streams``
(asyncio StreamReader/StreamWriter, the common idiom).

Run: python bench/floor_server.py PORT_FILE [buffered|protocol|streams]   (binds a free port)
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

    def data_received(self, data: bytes | memoryview) -> None:
        self.buffer += data
        while len(self.buffer) >= 8:
            length = int.from_bytes(self.buffer[6:8], "big")
            if len(self.buffer) < 8 + length:
                return
            del self.buffer[: 8 + length]
            self.transport.write(REPLY)


class BufferedFloor(Floor, asyncio.BufferedProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.receive = memoryview(bytearray(16 * 1024))

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.receive

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(self.receive[:nbytes])


async def serve_stream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            header = await reader.readexactly(8)
            await reader.readexactly(int.from_bytes(header[6:8], "big"))
            writer.write(REPLY)
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


async def main(port_file: str, style: str) -> None:
    loop = asyncio.get_running_loop()
    if style == "streams":
        server = await asyncio.start_server(serve_stream, "127.0.0.1", 0)
    elif style == "buffered":
        server = await loop.create_server(BufferedFloor, "127.0.0.1", 0)
    else:
        server = await loop.create_server(Floor, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    with open(port_file + ".tmp", "w") as handle:
        handle.write(str(port))
    os.replace(port_file + ".tmp", port_file)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "buffered"))
