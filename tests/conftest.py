"""For every pytest run under tests/: a SIGTERM (`timeout`, a CI runner
stopping the job, kill) ends the run like Ctrl-C, so fixture teardown still
runs and takes down the labs, namespaces and pinned maps the tests made.
Python's default for SIGTERM is to die at once, skipping every `finally`."""
import signal


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config):
    signal.signal(signal.SIGTERM, _interrupt)
