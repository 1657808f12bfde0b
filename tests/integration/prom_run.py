"""A real Prometheus on loopback for process tests: its own temp dir and
port, scraping the given targets every second (rules evaluated every second
when a rules file is given), stopped and removed by stop(). Exposition is a
loopback target serving fixed exposition text, for series no process of the
test makes."""

import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
import urllib.parse
import urllib.request

from nwlab import free_port, stop_process

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"


def stop_server(proc, log, workdir):
    """Terminates a server this module or a test started (killed after 15 s),
    closes its log and removes its working directory."""
    stop_process(proc, 15)
    log.close()
    shutil.rmtree(workdir, ignore_errors=True)


class Prometheus:
    def __init__(self, targets, job, rules=None, prefix="nwt-prom-"):
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        cfg = os.path.join(self.dir, "prometheus.yml")
        rule_files = ""
        if rules:
            shutil.copy(rules, os.path.join(self.dir, "rules.yml"))
            rule_files = "rule_files:\n  - rules.yml\n"
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    + rule_files
                    + f"scrape_configs:\n  - job_name: {job}\n"
                    "    static_configs:\n      - targets: ["
                    + ", ".join(f"'{t}'" for t in targets) + "]\n")
        self.log = open(os.path.join(self.dir, "prometheus.log"), "w")
        self.proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={cfg}", f"--storage.tsdb.path={self.dir}/data",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=self.log)

    def query(self, q):
        """The result list of an instant query (raises OSError while it is not up)."""
        if self.proc.poll() is not None:
            raise AssertionError("prometheus exited")
        url = f"{self.base}/api/v1/query?query={urllib.parse.quote(q)}"
        with urllib.request.urlopen(url, timeout=5) as r:
            doc = json.loads(r.read())
        assert doc["status"] == "success", doc
        return doc["data"]["result"]

    def stop(self):
        stop_server(self.proc, self.log, self.dir)


class LoopbackHTTP:
    """A loopback HTTP server answering GET with respond(path) ->
    (status, {header: value}, body bytes); .base is its URL."""

    def __init__(self, respond):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                status, headers, body = respond(self.path)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.addr = "127.0.0.1:%d" % self.server.server_address[1]
        self.base = "http://" + self.addr
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Exposition(LoopbackHTTP):
    """A loopback HTTP server answering /metrics with fixed text."""

    def __init__(self, text):
        body = text.encode()
        super().__init__(lambda path: (200 if path == "/metrics" else 404,
                                       {"Content-Type": "text/plain; version=0.0.4"}, body))
