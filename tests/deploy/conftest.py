"""Shared by the deployment tests (compose, Kubernetes, images, dashboards):
where the repository and its deployment files are."""
import os

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="session")
def repo():
    return REPO
