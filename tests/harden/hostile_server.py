#!/usr/bin/env python3
"""A streaming completions server that sends what a broken or hostile server
would: hostile_server.py MODE PORTFILE.  Modes:
  bigusage   usage.prompt_tokens = 2^63-1 and completion_tokens near it
  badutf8    a chunk that is not valid UTF-8 (the failure text must survive)
  escape     an error event whose message carries ESC sequences and newlines
  nodone     one content chunk, then the connection closes mid-stream
"""
import http.server, json, socket, sys, threading

MODE, PORTFILE = sys.argv[1], sys.argv[2]


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        body = json.dumps({"data": [{"id": "m"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        self.rfile.read(n)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        w = self.wfile.write
        chunk = {"id": "x", "choices": [{"index": 0, "text": "hi"}]}
        if MODE == "bigusage":
            w(b"data: " + json.dumps(chunk).encode() + b"\n\n")
            u = {"id": "x", "choices": [], "usage": {"prompt_tokens": 2**63 - 1,
                                                     "completion_tokens": 2**63 - 2}}
            w(b"data: " + json.dumps(u).encode() + b"\n\n")
            w(b"data: [DONE]\n\n")
        elif MODE == "badutf8":
            w(b'data: {"id": "x", "choices": [{"text": "caf\xe9 \xff\xfe"}], "x": 1\n\n')
        elif MODE == "escape":
            e = {"error": {"message": "boom \x1b[31mRED\x1b]0;owned\x07 line1\nFAKE  PASS  all.good"}}
            w(b"data: " + json.dumps(e).encode() + b"\n\n")
        elif MODE == "nodone":
            w(b"data: " + json.dumps(chunk).encode() + b"\n\n")
        self.wfile.flush()
        self.close_connection = True


class S(http.server.ThreadingHTTPServer):
    daemon_threads = True


srv = S(("127.0.0.1", 0), H)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(PORTFILE + ".tmp", PORTFILE)
srv.serve_forever()
