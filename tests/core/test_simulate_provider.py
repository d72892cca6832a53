"""`manage.py simulate_provider KIND` can serve every simulator it names."""

import httpx
import pytest
from django.utils.module_loading import import_string

from requests_app.management.commands.simulate_provider import SIMULATORS


@pytest.mark.parametrize("kind", sorted(SIMULATORS))
def test_every_named_simulator_starts_with_demo_data_and_answers_on_loopback(kind):
    simulator = import_string(SIMULATORS[kind])()
    base_url = simulator.start()
    if hasattr(simulator, "seed_demo"):
        simulator.seed_demo()
    try:
        assert base_url.startswith("http://127.0.0.1:")
        response = httpx.get(base_url + "/no-such-path", timeout=5)
        assert response.status_code in (401, 403, 404, 405)
    finally:
        simulator.stop()
