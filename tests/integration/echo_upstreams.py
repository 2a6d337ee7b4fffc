#!/usr/bin/python3
"""Tiny FastCGI, uwsgi and gRPC (HTTP/2 cleartext) responders for
tests/integration/upstream_protocols.sh.

Each one parses its protocol properly and answers with a plain-text report of
the request it received:

    backend=<fastcgi|uwsgi|grpc>
    method=<REQUEST_METHOD or :method>
    uri=<REQUEST_URI or :path>
    body=<number of body bytes>
    content_type=<CONTENT_TYPE or content-type>
    <identity variable>=<value>        one line per occurrence, sorted
    grpc_message=..., te=...           (gRPC only) the request message, TE

The identity variables are, for FastCGI and uwsgi, every parameter whose name
starts with HTTP_X_AUTH (nginx folds X-Auth-User-Id and X_Auth_User_Id alike
into HTTP_X_AUTH_USER_ID), and for gRPC every header whose name, with '_'
read as '-', starts with x-auth- (as nginx sent it, lower case).  Duplicates
are all listed: a forged header that survived next to the real one shows up.

Standard library only (Debian's /usr/bin/python3).  Usage:

    echo_upstreams.py [--fastcgi PORT] [--uwsgi PORT] [--grpc PORT]
                      [--ready FILE] [--log FILE]

Listens on 127.0.0.1; writes FILE (--ready) once every socket is bound and
appends one line per request to --log.  Stops on SIGTERM or SIGINT.
"""

import argparse
import os
import signal
import socketserver
import struct
import sys
import threading

LOG_LOCK = threading.Lock()
LOG_FILE = None


def log_request(backend, uri):
    if LOG_FILE:
        with LOG_LOCK, open(LOG_FILE, "a", encoding="utf-8") as f:
            f.write("%s %s\n" % (backend, uri))


def report(backend, method, uri, body_len, identity, content_type=""):
    lines = ["backend=" + backend, "method=" + method, "uri=" + uri,
             "body=%d" % body_len, "content_type=" + content_type]
    lines += sorted("%s=%s" % kv for kv in identity)
    return ("\n".join(lines) + "\n").encode("utf-8", "replace")


class ProtocolError(Exception):
    pass


def recv_exact(sock, n):
    """Exactly n bytes from sock; ProtocolError if the peer closes first."""
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ProtocolError("connection closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return bytes(buf)


def recv_or_eof(sock, n):
    """n bytes, or None when the peer closed the connection before sending any."""
    first = sock.recv(n)
    if not first:
        return None
    return first + (recv_exact(sock, n - len(first)) if len(first) < n else b"")


def latin1(b):
    return b.decode("latin-1")


# ---------------------------------------------------------------------------
# FastCGI (https://fastcgi-archives.github.io/FastCGI_Specification.html)

FCGI_VERSION_1 = 1
FCGI_BEGIN_REQUEST, FCGI_ABORT_REQUEST, FCGI_END_REQUEST = 1, 2, 3
FCGI_PARAMS, FCGI_STDIN, FCGI_STDOUT, FCGI_STDERR = 4, 5, 6, 7
FCGI_DATA, FCGI_GET_VALUES, FCGI_GET_VALUES_RESULT, FCGI_UNKNOWN_TYPE = 8, 9, 10, 11
FCGI_RESPONDER = 1
FCGI_KEEP_CONN = 1
FCGI_REQUEST_COMPLETE, FCGI_UNKNOWN_ROLE = 0, 3


def fcgi_record(rtype, request_id, content=b""):
    padding = (-len(content)) % 8
    return (struct.pack(">BBHHBx", FCGI_VERSION_1, rtype, request_id, len(content), padding)
            + content + b"\0" * padding)


def fcgi_stream(rtype, request_id, data):
    """data split into records of at most 65535 bytes, then the empty record
    that ends the stream."""
    out = b"".join(fcgi_record(rtype, request_id, data[i:i + 65535])
                   for i in range(0, len(data), 65535))
    return out + fcgi_record(rtype, request_id)


def fcgi_length(data, pos):
    if pos >= len(data):
        raise ProtocolError("truncated name-value length")
    if data[pos] < 0x80:
        return data[pos], pos + 1
    if pos + 4 > len(data):
        raise ProtocolError("truncated 4-byte name-value length")
    return struct.unpack(">I", data[pos:pos + 4])[0] & 0x7FFFFFFF, pos + 4


def fcgi_pairs(data):
    """The name-value pairs of a complete PARAMS stream, in order (a list:
    FastCGI allows repeated names)."""
    pairs, pos = [], 0
    while pos < len(data):
        nlen, pos = fcgi_length(data, pos)
        vlen, pos = fcgi_length(data, pos)
        if pos + nlen + vlen > len(data):
            raise ProtocolError("truncated name-value pair")
        pairs.append((latin1(data[pos:pos + nlen]), latin1(data[pos + nlen:pos + nlen + vlen])))
        pos += nlen + vlen
    return pairs


class FastCGIHandler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        requests = {}   # id -> {"keep": bool, "params": bytearray, "params_done", "stdin", ...}
        while True:
            header = recv_or_eof(sock, 8)
            if header is None:
                return
            version, rtype, rid, clen, plen = struct.unpack(">BBHHBx", header)
            if version != FCGI_VERSION_1:
                raise ProtocolError("FastCGI version %d" % version)
            content = recv_exact(sock, clen)
            recv_exact(sock, plen)

            if rid == 0:  # management record
                if rtype == FCGI_GET_VALUES:
                    sock.sendall(fcgi_record(FCGI_GET_VALUES_RESULT, 0))
                else:
                    sock.sendall(fcgi_record(FCGI_UNKNOWN_TYPE, 0, bytes([rtype]) + b"\0" * 7))
                continue

            if rtype == FCGI_BEGIN_REQUEST:
                if clen != 8:
                    raise ProtocolError("BEGIN_REQUEST body of %d bytes" % clen)
                role, flags = struct.unpack(">HB5x", content)
                if role != FCGI_RESPONDER:
                    sock.sendall(fcgi_record(FCGI_END_REQUEST, rid,
                                             struct.pack(">IB3x", 0, FCGI_UNKNOWN_ROLE)))
                    continue
                requests[rid] = {"keep": bool(flags & FCGI_KEEP_CONN), "params": bytearray(),
                                 "params_done": False, "stdin": bytearray(),
                                 "stdin_done": False}
                continue

            req = requests.get(rid)
            if req is None:
                continue            # records of an unknown request are ignored
            if rtype == FCGI_ABORT_REQUEST:
                sock.sendall(fcgi_record(FCGI_END_REQUEST, rid,
                                         struct.pack(">IB3x", 1, FCGI_REQUEST_COMPLETE)))
                del requests[rid]
            elif rtype == FCGI_PARAMS:
                if req["params_done"]:
                    raise ProtocolError("PARAMS after the end of the PARAMS stream")
                if clen == 0:
                    req["params_done"] = True
                else:
                    req["params"] += content
            elif rtype == FCGI_STDIN:
                if clen == 0:
                    req["stdin_done"] = True
                else:
                    req["stdin"] += content
            elif rtype == FCGI_DATA:
                pass
            else:
                raise ProtocolError("unexpected record type %d" % rtype)

            if req.get("params_done") and req.get("stdin_done"):
                del requests[rid]
                params = fcgi_pairs(bytes(req["params"]))
                env = dict(params)
                identity = [(k, v) for k, v in params if k.startswith("HTTP_X_AUTH")]
                uri = env.get("REQUEST_URI", "")
                log_request("fastcgi", uri)
                body = (b"Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n"
                        + report("fastcgi", env.get("REQUEST_METHOD", ""), uri,
                                 len(req["stdin"]), identity, env.get("CONTENT_TYPE", "")))
                sock.sendall(fcgi_stream(FCGI_STDOUT, rid, body)
                             + fcgi_record(FCGI_END_REQUEST, rid,
                                           struct.pack(">IB3x", 0, FCGI_REQUEST_COMPLETE)))
                if not req["keep"]:
                    return


# ---------------------------------------------------------------------------
# uwsgi (https://uwsgi-docs.readthedocs.io/en/latest/Protocol.html)

class UwsgiHandler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        header = recv_or_eof(sock, 4)
        if header is None:
            return
        modifier1, size, modifier2 = struct.unpack("<BHB", header)
        if modifier1 != 0 or modifier2 != 0:
            raise ProtocolError("uwsgi packet modifier %d/%d" % (modifier1, modifier2))
        data = recv_exact(sock, size)
        pairs, pos = [], 0
        while pos < len(data):
            if pos + 2 > len(data):
                raise ProtocolError("truncated key size")
            (klen,) = struct.unpack("<H", data[pos:pos + 2])
            key = data[pos + 2:pos + 2 + klen]
            pos += 2 + klen
            if len(key) != klen or pos + 2 > len(data):
                raise ProtocolError("truncated key or value size")
            (vlen,) = struct.unpack("<H", data[pos:pos + 2])
            value = data[pos + 2:pos + 2 + vlen]
            pos += 2 + vlen
            if len(value) != vlen:
                raise ProtocolError("truncated value")
            pairs.append((latin1(key), latin1(value)))
        env = dict(pairs)
        clen = env.get("CONTENT_LENGTH") or "0"
        body = recv_exact(sock, int(clen)) if clen.isdigit() else b""
        identity = [(k, v) for k, v in pairs if k.startswith("HTTP_X_AUTH")]
        uri = env.get("REQUEST_URI", "")
        log_request("uwsgi", uri)
        text = report("uwsgi", env.get("REQUEST_METHOD", ""), uri, len(body), identity,
                      env.get("CONTENT_TYPE", ""))
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                     b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(text) + text)


# ---------------------------------------------------------------------------
# HTTP/2 (RFC 9113) with HPACK (RFC 7541), as much as a gRPC server needs

H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS = 0x0, 0x1, 0x2, 0x3, 0x4
PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 0x5, 0x6, 0x7, 0x8, 0x9
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY_FLAG = 0x1, 0x1, 0x4, 0x8, 0x20

STATIC_TABLE = [
    (":authority", ""), (":method", "GET"), (":method", "POST"), (":path", "/"),
    (":path", "/index.html"), (":scheme", "http"), (":scheme", "https"),
    (":status", "200"), (":status", "204"), (":status", "206"), (":status", "304"),
    (":status", "400"), (":status", "404"), (":status", "500"), ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"), ("accept-language", ""), ("accept-ranges", ""),
    ("accept", ""), ("access-control-allow-origin", ""), ("age", ""), ("allow", ""),
    ("authorization", ""), ("cache-control", ""), ("content-disposition", ""),
    ("content-encoding", ""), ("content-language", ""), ("content-length", ""),
    ("content-location", ""), ("content-range", ""), ("content-type", ""), ("cookie", ""),
    ("date", ""), ("etag", ""), ("expect", ""), ("expires", ""), ("from", ""), ("host", ""),
    ("if-match", ""), ("if-modified-since", ""), ("if-none-match", ""), ("if-range", ""),
    ("if-unmodified-since", ""), ("last-modified", ""), ("link", ""), ("location", ""),
    ("max-forwards", ""), ("proxy-authenticate", ""), ("proxy-authorization", ""),
    ("range", ""), ("referer", ""), ("refresh", ""), ("retry-after", ""), ("server", ""),
    ("set-cookie", ""), ("strict-transport-security", ""), ("transfer-encoding", ""),
    ("user-agent", ""), ("vary", ""), ("via", ""), ("www-authenticate", ""),
]

# RFC 7541 Appendix B: code lengths of symbols 0..255 and EOS (256).  The
# code is canonical (codes of one length are consecutive, in symbol order),
# so the lengths determine it.
HUFFMAN_LENGTHS = [
    13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
    28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
    6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
    5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
    13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
    7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
    15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
    6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
    20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
    24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
    22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
    21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
    26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
    19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
    20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
    26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
    30,
]


def build_huffman_decoder():
    """{(length, code): symbol} for the canonical code of HUFFMAN_LENGTHS."""
    table, code, prev_len = {}, 0, 0
    for length, sym in sorted((l, s) for s, l in enumerate(HUFFMAN_LENGTHS)):
        code <<= length - prev_len
        table[(length, code)] = sym
        code += 1
        prev_len = length
    if code != 1 << prev_len:   # Kraft sum must be exactly 1: the table is complete
        raise AssertionError("HPACK Huffman lengths are not a complete prefix code")
    return table


HUFFMAN_DECODE = build_huffman_decoder()


def huffman_decode(data):
    out, code, length = bytearray(), 0, 0
    for byte in data:
        for shift in range(7, -1, -1):
            code = (code << 1) | ((byte >> shift) & 1)
            length += 1
            sym = HUFFMAN_DECODE.get((length, code))
            if sym is not None:
                if sym == 256:
                    raise ProtocolError("EOS symbol inside a Huffman string")
                out.append(sym)
                code, length = 0, 0
            elif length > 30:
                raise ProtocolError("invalid Huffman code")
    # padding: at most 7 bits, all ones (a prefix of EOS)
    if length > 7 or code != (1 << length) - 1:
        raise ProtocolError("invalid Huffman padding")
    return bytes(out)


class HpackDecoder:
    def __init__(self, max_size=4096):
        self.dynamic = []           # newest first
        self.size = 0
        self.max_size = max_size
        self.limit = max_size       # SETTINGS_HEADER_TABLE_SIZE we announce (default)

    @staticmethod
    def integer(data, pos, prefix_bits):
        if pos >= len(data):
            raise ProtocolError("truncated HPACK integer")
        limit = (1 << prefix_bits) - 1
        value = data[pos] & limit
        pos += 1
        if value < limit:
            return value, pos
        shift = 0
        while True:
            if pos >= len(data) or shift > 28:
                raise ProtocolError("bad HPACK integer")
            b = data[pos]
            pos += 1
            value += (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return value, pos

    def string(self, data, pos):
        if pos >= len(data):
            raise ProtocolError("truncated HPACK string")
        huffman = bool(data[pos] & 0x80)
        length, pos = self.integer(data, pos, 7)
        raw = data[pos:pos + length]
        if len(raw) != length:
            raise ProtocolError("truncated HPACK string")
        return latin1(huffman_decode(raw) if huffman else raw), pos + length

    def entry(self, index):
        if index == 0:
            raise ProtocolError("HPACK index 0")
        if index <= len(STATIC_TABLE):
            return STATIC_TABLE[index - 1]
        index -= len(STATIC_TABLE) + 1
        if index >= len(self.dynamic):
            raise ProtocolError("HPACK index beyond the dynamic table")
        return self.dynamic[index]

    def evict(self):
        while self.size > self.max_size:
            name, value = self.dynamic.pop()
            self.size -= len(name) + len(value) + 32

    def add(self, name, value):
        self.dynamic.insert(0, (name, value))
        self.size += len(name) + len(value) + 32
        self.evict()

    def decode(self, block):
        headers, pos = [], 0
        while pos < len(block):
            b = block[pos]
            if b & 0x80:                                    # indexed field
                index, pos = self.integer(block, pos, 7)
                headers.append(self.entry(index))
            elif b & 0xC0 == 0x40:                          # literal, incremental indexing
                index, pos = self.integer(block, pos, 6)
                if index:
                    name = self.entry(index)[0]
                else:
                    name, pos = self.string(block, pos)
                value, pos = self.string(block, pos)
                headers.append((name, value))
                self.add(name, value)
            elif b & 0xE0 == 0x20:                          # dynamic table size update
                size, pos = self.integer(block, pos, 5)
                if size > self.limit:
                    raise ProtocolError("HPACK table size update beyond the limit")
                self.max_size = size
                self.evict()
            else:                                           # literal, not / never indexed
                index, pos = self.integer(block, pos, 4)
                if index:
                    name = self.entry(index)[0]
                else:
                    name, pos = self.string(block, pos)
                value, pos = self.string(block, pos)
                headers.append((name, value))
        return headers


def hpack_integer(value, prefix_bits, first=0):
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = bytearray([first | limit])
    value -= limit
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def hpack_encode(headers):
    """Every field as a literal without indexing, new name, no Huffman: valid
    for any decoder and needing no table state."""
    out = bytearray()
    for name, value in headers:
        n, v = name.encode("latin-1"), value.encode("latin-1")
        out += b"\x00" + hpack_integer(len(n), 7) + n + hpack_integer(len(v), 7) + v
    return bytes(out)


def h2_frame(ftype, flags, stream_id, payload=b""):
    return struct.pack(">I", len(payload))[1:] + struct.pack(">BBI", ftype, flags, stream_id) + payload


class GrpcHandler(socketserver.BaseRequestHandler):
    """An HTTP/2 cleartext server that answers every stream with one gRPC
    message (the report) and grpc-status 0."""

    def handle(self):
        sock = self.request
        if recv_exact(sock, len(H2_PREFACE)) != H2_PREFACE:
            raise ProtocolError("no HTTP/2 connection preface")
        sock.sendall(h2_frame(SETTINGS, 0, 0))
        hpack = HpackDecoder()
        streams = {}            # id -> {"headers": [...], "data": bytearray}
        block, block_stream, block_end_stream = None, 0, False
        while True:
            header = recv_or_eof(sock, 9)
            if header is None:
                return
            length = int.from_bytes(header[:3], "big")
            ftype, flags, stream_id = header[3], header[4], int.from_bytes(header[5:], "big") & 0x7FFFFFFF
            payload = recv_exact(sock, length)
            if block is not None and ftype != CONTINUATION:
                raise ProtocolError("frame type %d inside a header block" % ftype)

            if ftype == SETTINGS:
                if not flags & ACK:
                    if length % 6:
                        raise ProtocolError("SETTINGS of %d bytes" % length)
                    sock.sendall(h2_frame(SETTINGS, ACK, 0))
            elif ftype == PING:
                if not flags & ACK:
                    sock.sendall(h2_frame(PING, ACK, 0, payload))
            elif ftype == GOAWAY:
                return
            elif ftype in (WINDOW_UPDATE, PRIORITY):
                pass
            elif ftype == RST_STREAM:
                streams.pop(stream_id, None)
            elif ftype in (HEADERS, DATA):
                pos, end = 0, len(payload)
                if flags & PADDED:
                    if not payload:
                        raise ProtocolError("PADDED frame without a pad length")
                    end -= payload[0]
                    pos = 1
                if ftype == HEADERS and flags & PRIORITY_FLAG:
                    pos += 5
                if pos > end:
                    raise ProtocolError("padding longer than the frame")
                fragment = payload[pos:end]
                if ftype == HEADERS:
                    block, block_stream, block_end_stream = bytearray(fragment), stream_id, bool(flags & END_STREAM)
                    if flags & END_HEADERS:
                        self.headers_done(sock, streams, hpack, block_stream, bytes(block), block_end_stream)
                        block = None
                else:
                    st = streams.get(stream_id)
                    if st is None:
                        raise ProtocolError("DATA on an unknown stream %d" % stream_id)
                    st["data"] += fragment
                    if length:  # give the flow-control credit back
                        sock.sendall(h2_frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", length))
                                     + h2_frame(WINDOW_UPDATE, 0, stream_id, struct.pack(">I", length)))
                    if flags & END_STREAM:
                        self.respond(sock, stream_id, streams.pop(stream_id))
            elif ftype == CONTINUATION:
                if block is None or stream_id != block_stream:
                    raise ProtocolError("unexpected CONTINUATION")
                block += payload
                if flags & END_HEADERS:
                    self.headers_done(sock, streams, hpack, block_stream, bytes(block), block_end_stream)
                    block = None
            else:
                pass    # unknown frame types are ignored (RFC 9113 section 4.1)

    def headers_done(self, sock, streams, hpack, stream_id, block, end_stream):
        headers = hpack.decode(block)
        if stream_id not in streams:    # else: request trailers, ignored
            streams[stream_id] = {"headers": headers, "data": bytearray()}
        if end_stream:
            self.respond(sock, stream_id, streams.pop(stream_id))

    def respond(self, sock, stream_id, st):
        fields = st["headers"]
        pseudo = {k: v for k, v in fields if k.startswith(":")}
        data = bytes(st["data"])
        # a unary gRPC request: one length-prefixed message
        if len(data) >= 5:
            compressed, mlen = struct.unpack(">BI", data[:5])
            message = "grpc_message=%s" % (
                latin1(data[5:]) if not compressed and mlen == len(data) - 5 else "malformed")
        else:
            message = "grpc_message=none"
        identity = [(k, v) for k, v in fields if k.replace("_", "-").startswith("x-auth-")]
        uri = pseudo.get(":path", "")
        log_request("grpc", uri)
        text = report("grpc", pseudo.get(":method", ""), uri, len(data), identity,
                      ",".join(v for k, v in fields if k == "content-type"))
        te = ",".join(v for k, v in fields if k == "te")
        text += ("%s\nte=%s\n" % (message, te)).encode("utf-8", "replace")
        body = struct.pack(">BI", 0, len(text)) + text
        sock.sendall(
            h2_frame(HEADERS, END_HEADERS, stream_id,
                     hpack_encode([(":status", "200"), ("content-type", "application/grpc")]))
            + h2_frame(DATA, 0, stream_id, body)
            + h2_frame(HEADERS, END_HEADERS | END_STREAM, stream_id,
                       hpack_encode([("grpc-status", "0"), ("grpc-message", "echoed")])))


# ---------------------------------------------------------------------------

class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def handle_error(self, request, client_address):
        e = sys.exc_info()[1]
        print("echo_upstreams: %s: %s: %s" % (type(self).__name__, type(e).__name__, e),
              file=sys.stderr, flush=True)


def main():
    global LOG_FILE
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fastcgi", type=int)
    ap.add_argument("--uwsgi", type=int)
    ap.add_argument("--grpc", type=int)
    ap.add_argument("--ready", metavar="FILE")
    ap.add_argument("--log", metavar="FILE")
    args = ap.parse_args()
    LOG_FILE = args.log

    servers = []
    for port, handler in ((args.fastcgi, FastCGIHandler), (args.uwsgi, UwsgiHandler),
                          (args.grpc, GrpcHandler)):
        if port:
            servers.append(Server(("127.0.0.1", port), handler))
    if not servers:
        ap.error("give at least one of --fastcgi, --uwsgi, --grpc")

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.1},
                                daemon=True) for s in servers]
    for t in threads:
        t.start()
    if args.ready:
        with open(args.ready + ".tmp", "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(args.ready + ".tmp", args.ready)
    while not stop.wait(0.2):
        pass
    for s in servers:
        s.shutdown()
        s.server_close()


if __name__ == "__main__":
    main()
