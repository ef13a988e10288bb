"""The chunk server's wire format, shared by server.py (LeRobot's environment) and backend.py (robolearn's).

One message = 8-byte header (little-endian uint32 JSON length, uint32 payload length) + UTF-8 JSON + raw
payload. Over a Unix stream socket, one request and one reply at a time.

Requests and replies:
  {"op": "info"}                        -> {"ok": true, "info": {...}}     what the checkpoint is (see server.py)
  {"op": "predict", "state": [6], "images": [[key, [3, H, W]], ...]}
        payload: state float32, then each image uint8 (3, H, W) in the listed order
                                         -> {"ok": true, "shape": [chunk, action_dim], "infer_ms": x}
        payload: the chunk, float32, dataset units
  {"op": "reset"}                       -> {"ok": true}
  any failure                           -> {"ok": false, "error": "..."}
Only numpy and the standard library: both environments have them.
"""

from __future__ import annotations

import json
import socket
import struct

HEADER = struct.Struct('<II')


def send(sock: socket.socket, header: dict, payload: bytes = b'') -> None:
    body = json.dumps(header).encode()
    sock.sendall(HEADER.pack(len(body), len(payload)) + body + payload)


def _read_exact(sock: socket.socket, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise ConnectionError('the chunk server closed the connection')
        chunks.append(chunk)
        left -= len(chunk)
    return b''.join(chunks)


def receive(sock: socket.socket) -> tuple[dict, bytes]:
    n_json, n_payload = HEADER.unpack(_read_exact(sock, HEADER.size))
    header = json.loads(_read_exact(sock, n_json))
    return header, _read_exact(sock, n_payload) if n_payload else b''
