"""A slowloris client for the HTTP tests (issue 15): `per_addr` connections
from each of `addrs` loopback source addresses, each sending a request's
header one byte every `every` seconds and never finishing it. A connection
the server cuts is opened again, so the pressure stays on."""

import socket
import subprocess
import threading

HEADER = b"GET /metrics HTTP/1.1\r\nHost: netwatch\r\nX-Slow: " + b"a" * 4000


class Slowloris:
    def __init__(self, port, addrs=("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"),
                 per_addr=16, every=1.0):
        self.port, self.addrs, self.per_addr, self.every = port, addrs, per_addr, every
        self.conns = []  # [socket, source address, bytes sent]
        self.reopened = 0
        self.done = threading.Event()
        self.thread = None

    def _open(self, addr):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(2)
        s.bind((addr, 0))
        s.connect(("127.0.0.1", self.port))
        s.sendall(HEADER[:1])
        return [s, addr, 1]

    def __enter__(self):
        for a in self.addrs:
            for _ in range(self.per_addr):
                self.conns.append(self._open(a))
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _run(self):
        while not self.done.wait(self.every):
            for c in self.conns:
                try:
                    c[0].send(HEADER[c[2]:c[2] + 1])
                    c[2] = (c[2] + 1) % len(HEADER) or 1
                except OSError:
                    c[0].close()
                    try:
                        c[:] = self._open(c[1])
                        self.reopened += 1
                    except OSError:
                        pass

    def accept_queue_empty(self):
        """True once the server has taken every pending connection off its
        listen queue (accepted or refused it): the attack is in place."""
        out = subprocess.run(["ss", "-Hltn", f"sport = :{self.port}"], capture_output=True,
                             text=True).stdout.split()
        return bool(out) and out[1] == "0"

    def __exit__(self, *exc):
        self.done.set()
        if self.thread:
            self.thread.join(timeout=5)
        for c in self.conns:
            c[0].close()
