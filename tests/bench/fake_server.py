#!/usr/bin/env python3
"""Stand-in LLM server for the launch tests (tests/bench/test_launch.c).

Usage: fake_server.py --port N --mode MODE [--delay S] [--pidfile F]

Modes:
  ok          prints loading progress, answers /health 503 while "loading",
              then 200; /v1/models; non-streaming chat/completions with usage;
              prints SGLang's ready line after its own first request; exits 0
              on SIGINT.
  exit        prints a few lines and an error, exits 2 at once.
  never       prints progress forever; /health answers 503 for ever; has a
              child process (sleep) in its group.
  kernel      like ok, but after --delay prints the CUDA "no kernel image"
              error and hangs (a scheduler died, the main process lingers).
  stubborn    ignores SIGINT and SIGTERM; forks a grandchild that ignores them
              too and one that leaves the group with setsid(); writes all
              pids to --pidfile; never ready.
  die         ready like ok, then dies (SIGKILL to itself) --delay seconds
              after the first chat request.
  hint        prints a Gloo loopback warning (a hint, not fatal), then ok.
  refuse      ready, but answers the warm-up chat request with HTTP 400.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def log(msg):
    print(msg, flush=True)


class State:
    loaded = False
    requests = 0
    first_chat = None


def make_handler(args):
    class H(BaseHTTPRequestHandler):
        def log_message(self, fmt, *a):
            log('INFO:     127.0.0.1 - "%s" %s' % (self.requestline, a[1] if len(a) > 1 else ""))

        def send_json(self, code, obj):
            body = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path == "/health":
                if State.loaded:
                    self.send_json(200, {"status": "ok"})
                else:
                    self.send_json(503, {"error": {"code": 503, "message": "Loading model"}})
            elif self.path == "/v1/models":
                self.send_json(200, {"object": "list", "data": [{"id": "fake-model", "object": "model"}]})
            else:
                self.send_json(404, {"error": "not found"})

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            req = json.loads(self.rfile.read(n) or b"{}")
            if self.path not in ("/v1/chat/completions", "/v1/completions"):
                self.send_json(404, {"error": "not found"})
                return
            if args.mode == "refuse":
                self.send_json(400, {"error": {"message": "model 'x' does not support chat"}})
                return
            State.requests += 1
            if State.first_chat is None:
                State.first_chat = time.time()
                log("[server] The server is fired up and ready to roll!")
            k = int(req.get("max_tokens", 4))
            text = " ".join(["tok"] * k)
            usage = {"prompt_tokens": 5, "completion_tokens": k, "total_tokens": 5 + k}
            if self.path == "/v1/chat/completions":
                choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "length"}
            else:
                choice = {"index": 0, "text": text, "finish_reason": "length"}
            self.send_json(200, {"id": "x", "object": "chat.completion", "model": req.get("model", ""),
                                 "choices": [choice], "usage": usage})
    return H


def serve(args):
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(args))
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    log("INFO:     Uvicorn-like server listening on http://127.0.0.1:%d" % args.port)
    return srv


def loading(steps=4, pause=0.15):
    for i in range(1, steps + 1):
        sys.stdout.write("Loading safetensors checkpoint shards: %3d%% Completed | %d/%d\r" % (100 * i // steps, i, steps))
        sys.stdout.flush()
        time.sleep(pause)
    sys.stdout.write("\n")
    State.loaded = True
    log("[server] model loaded")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--mode", default="ok")
    ap.add_argument("--delay", type=float, default=0.5)
    ap.add_argument("--pidfile")
    args = ap.parse_args()

    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    log("[server] starting %s (pid %d, mark=%s)" % (args.mode, os.getpid(), os.environ.get("PF_TEST_MARK", "")))

    if args.mode == "exit":
        log("[server] parsing arguments")
        log("ValueError: unknown option --frobnicate")
        sys.exit(2)

    if args.mode == "stubborn":
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        pids = [os.getpid()]
        for escape in (False, True):
            pid = os.fork()
            if pid == 0:
                if escape:
                    os.setsid()
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                while True:
                    time.sleep(1)
            pids.append(pid)
        with open(args.pidfile, "w") as f:
            f.write(" ".join(map(str, pids)) + "\n")
        log("[server] workers started")
        while True:
            time.sleep(0.2)
            log("[server] still loading ...")

    if args.mode == "never":
        subprocess.Popen(["sleep", "300"])
        srv = serve(args)
        i = 0
        while not stop.is_set():
            i += 1
            log("[server] loading layer %d" % i)
            stop.wait(0.2)
        srv.shutdown()
        sys.exit(0)

    if args.mode == "hint":
        log("[W ProcessGroupGloo.cpp:727] Warning: Unable to resolve hostname to a (local) address. Using the "
            "loopback address as fallback. Manually set the network interface to bind to with GLOO_SOCKET_IFNAME.")

    srv = serve(args)
    loading()

    if args.mode == "kernel":
        time.sleep(args.delay)
        log("[2025-11-02 10:11:12 TP0] Scheduler hit an exception: Traceback (most recent call last):")
        log("RuntimeError: CUDA error: no kernel image is available for execution on the device")
        while not stop.is_set():  # the main process lingers, as SGLang's does
            stop.wait(0.2)
        sys.exit(1)

    while not stop.is_set():
        if args.mode == "die" and State.first_chat and time.time() - State.first_chat > args.delay:
            log("[server] worker crashed")
            os.kill(os.getpid(), signal.SIGKILL)
        stop.wait(0.05)
    log("[server] SIGINT received, shutting down")
    srv.shutdown()
    sys.exit(0)


if __name__ == "__main__":
    main()
