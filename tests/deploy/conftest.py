"""Shared by the deployment tests (compose, Kubernetes, images, dashboards):
where the repository and its deployment files are."""
import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The process tests' helpers (nwlab.wait_for, ...) serve these tests too.
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))


@pytest.fixture(scope="session")
def repo():
    return REPO
