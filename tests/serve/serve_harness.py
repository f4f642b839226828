"""Starting, calling and stopping lat-serve from tests, the ASan load and the benchmarks.

Only the standard library (numpy is imported where a model folder is written), so that
tools/sanitize.sh can run the load with the system's python3.
"""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READY = re.compile(r"lat-serve listening on http://([0-9.]+):([0-9]+)")


class Response:
    def __init__(self, status, headers, body, elapsed):
        self.status = status
        self.headers = headers  # names in lower case
        self.body = body
        self.elapsed = elapsed  # seconds from sending the request to the whole answer read

    def json(self):
        return json.loads(self.body)

    @property
    def speedup(self):
        return float(self.headers["x-lat-speedup"])

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


def call(base, method, path, body=None, headers=None, timeout=120.0):
    """One request on a fresh connection. body: bytes as they are, anything else as JSON."""
    host, port = base
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    hdrs = dict(headers or {})
    if body is not None and not isinstance(body, (bytes, bytearray)):
        body = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    try:
        conn.connect()
        t0 = time.perf_counter()
        conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        data = r.read()
        elapsed = time.perf_counter() - t0
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data, elapsed)
    finally:
        conn.close()


class Server:
    """lat-serve on a free loopback port (--port 0): started, read ready, healthy; stopped by stop()
    or at the end of a with block, where exit status 0 is asserted."""

    def __init__(self, binary, args, env=None, ready_timeout=120.0, check_exit=True):
        self.argv = [str(binary), *map(str, args), "--host", "127.0.0.1", "--port", "0"]
        self.check_exit = check_exit
        self.log = []
        self._ready = threading.Event()
        self.address = None
        self.proc = subprocess.Popen(
            self.argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=dict(os.environ, **(env or {})), text=True, errors="replace", bufsize=1)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(ready_timeout) or self.address is None:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError(f"{' '.join(self.argv)} did not print its address:\n{self.output}")
        deadline = time.monotonic() + ready_timeout
        while True:
            try:
                if self.get("/health", timeout=5).status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.proc.kill()
                raise RuntimeError(f"lat-serve never became healthy:\n{self.output}")
            time.sleep(0.05)

    def _read(self):
        for line in self.proc.stdout:
            self.log.append(line)
            m = READY.search(line)
            if m and self.address is None:
                self.address = (m.group(1), int(m.group(2)))
                self._ready.set()
        self._ready.set()

    @property
    def output(self):
        return "".join(self.log)

    @property
    def url(self):
        return f"http://{self.address[0]}:{self.address[1]}"

    def call(self, method, path, body=None, headers=None, timeout=120.0):
        return call(self.address, method, path, body, headers, timeout)

    def post(self, path, body=None, headers=None, timeout=120.0):
        return self.call("POST", path, body, headers, timeout)

    def get(self, path, headers=None, timeout=120.0):
        return self.call("GET", path, None, headers, timeout)

    def connect(self, timeout=30.0):
        return socket.create_connection(self.address, timeout=timeout)

    def signal(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)

    def stop(self, timeout=60.0):
        """SIGTERM, then the exit status (the process is killed if it outlives timeout)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"lat-serve did not exit within {timeout} s of SIGTERM:\n{self.output[-4000:]}")
        self._reader.join(10)
        return rc

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        rc = self.stop()
        if self.check_exit and exc[0] is None:
            assert rc == 0, f"lat-serve exited with {rc} after SIGTERM:\n{self.output[-4000:]}"


def raw_request(method, path, body=b"", headers=None):
    """An HTTP/1.1 request as bytes, for raw sockets."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def read_response(sock):
    """Reads one HTTP response (Content-Length framed) from a raw socket: (status, body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before the headers: {data!r}")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed in the body")
        body += chunk
    return status, body


def make_classifier(model_dir, out, weight, bias, config):
    """A BertForSequenceClassification folder: model_dir's encoder and tokenizer with the head given
    (weight: labels x hidden, bias: labels), written as benchmarks/minilm_classifier.py writes."""
    import importlib.util
    import shutil

    import numpy as np

    spec = importlib.util.spec_from_file_location("minilm_classifier", ROOT / "benchmarks" / "minilm_classifier.py")
    mc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mc)
    model_dir, out = Path(model_dir), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for f in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(model_dir / f, out / f)
    (out / "config.json").write_text(json.dumps(config, indent=1))
    tensors = {"bert." + k: v for k, v in mc.read_safetensors(model_dir / "model.safetensors").items()}
    tensors["classifier.weight"] = np.asarray(weight, dtype=np.float32)
    tensors["classifier.bias"] = np.asarray(bias, dtype=np.float32)
    mc.write_safetensors(out / "model.safetensors", tensors)
    return out
