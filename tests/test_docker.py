"""The container files: Docker cannot run here, so they are parsed and checked."""

from __future__ import annotations

import re
import runpy

import pytest
import yaml

from tests.conftest import ROOT

DOCKER = ROOT / "docker"


def test_compose_runs_web_postgis_and_redis_with_health_checks() -> None:
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert set(services) == {"proxy", "web", "db", "redis"}
    assert services["db"]["image"].startswith("postgis/postgis:")
    assert services["redis"]["image"].startswith("redis:")
    for name, service in services.items():
        assert name == "proxy" or service["healthcheck"]["test"], name
    web = services["web"]
    assert web["build"]["dockerfile"] == "docker/Dockerfile"
    assert (ROOT / web["build"]["context"].replace("..", ".")).is_dir()
    env = web["environment"]
    assert env["WEBMAP_DATABASE_URL"].startswith("postgresql://") and "@db:5432/" in env[
        "WEBMAP_DATABASE_URL"]
    assert env["WEBMAP_REDIS_URL"] == "redis://redis:6379/0"
    assert all(key.startswith("WEBMAP_") for key in env)
    assert web["depends_on"] == {"db": {"condition": "service_healthy"},
                                 "redis": {"condition": "service_healthy"}}
    assert "/readyz" in " ".join(web["healthcheck"]["test"])
    assert "webmap-data:/data" in web["volumes"]
    assert "ports" not in web  # only through the buffering proxy
    proxy = services["proxy"]
    assert proxy["image"].startswith("nginx:")
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in proxy["volumes"]
    assert (DOCKER / "nginx.conf").is_file()
    assert proxy["depends_on"] == {"web": {"condition": "service_healthy"}}


def test_dockerfile_copies_what_exists_and_runs_gunicorn_unprivileged() -> None:
    text = (DOCKER / "Dockerfile").read_text(encoding="utf-8")
    for source in re.findall(r"^COPY (\S+(?: \S+)*) \S+$", text, flags=re.M):
        if source.startswith("--from="):
            stage = source.split()[0].removeprefix("--from=")
            assert re.search(rf"^FROM \S+ AS {stage}$", text, flags=re.M), stage
            continue
        for part in source.split():
            assert (ROOT / part).exists(), f"COPY {part}: not in the repository"
    assert re.search(r"^USER webmap$", text, flags=re.M)
    # the npm packages come from the lockfile, as in `make vendor`
    assert "COPY package.json package-lock.json ./" in text and "npm ci" in text
    assert "HEALTHCHECK" in text and "/healthz" in text
    assert 'CMD ["gunicorn", "--config", "docker/gunicorn.conf.py", "webmap.app:create_app()"]' \
        in text


WORKER_ENV = ("WEBMAP_DATABASE_URL", "WEBMAP_THREADS", "WEBMAP_WORKERS", "WEBMAP_WORKER_CLASS",
              "WEBMAP_WORKER_CONNECTIONS")


def test_gunicorn_config_loads_and_keeps_addresses_out_of_logs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in WORKER_ENV:
        monkeypatch.delenv(name, raising=False)
    config = runpy.run_path(str(DOCKER / "gunicorn.conf.py"))
    assert config["workers"] >= 1 and config["worker_class"] == "gevent"
    assert config["worker_connections"] >= 100
    assert config["secure_scheme_headers"] == {}
    assert "%(h)s" not in config["access_log_format"]


@pytest.mark.parametrize(("env", "worker_class", "threads"), [
    ({"WEBMAP_DATABASE_URL": "postgresql://db/webmap"}, "gevent", 1),
    ({"WEBMAP_WORKER_CLASS": "gthread"}, "gthread", 4),
    ({"WEBMAP_WORKER_CLASS": "gthread", "WEBMAP_THREADS": "3"}, "gthread", 3),
    ({"WEBMAP_WORKER_CLASS": "sync"}, "sync", 1),
])
def test_gunicorn_worker_classes(monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
                                 worker_class: str, threads: int) -> None:
    for name in WORKER_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = runpy.run_path(str(DOCKER / "gunicorn.conf.py"))
    assert (config["worker_class"], config["threads"]) == (worker_class, threads)


def test_gunicorn_refuses_zero_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBMAP_THREADS", "0")
    monkeypatch.setenv("WEBMAP_WORKER_CLASS", "gthread")
    with pytest.raises(SystemExit, match="at least 1"):
        runpy.run_path(str(DOCKER / "gunicorn.conf.py"))
