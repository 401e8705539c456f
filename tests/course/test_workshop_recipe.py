"""The README's workshop recipe, checked by the real Docker Compose binary (no engine needed): every
`docker compose` line parses, and the lab learns the address that REDIS_BIND publishes."""

import json
import re
import shlex
from pathlib import Path

import pytest
from test_distribution import SECRETS, compose

from kit.join_address import PUBLIC_ENV, join_address

ROOT = Path(__file__).resolve().parents[2]


def recipe_commands():
    """Every `docker compose ...` line of the README's *Workshop recipe* and of the compose file's
    header comment, as argument lists (without `docker compose`).
    """
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Workshop recipe", 1)[1].split("\n## ", 1)[0]
    header = (ROOT / "docker-compose.yml").read_text().split("\nname:", 1)[0]
    lines = re.findall(r"^#?\s*(docker compose .*)$", section + "\n" + header, re.M)
    found = [tuple(shlex.split(line, comments=True)[2:]) for line in lines]
    return [list(args) for args in dict.fromkeys(found)]


def test_the_readme_shows_flower_in_full():
    assert ["--profile", "flower", "up", "--build", "--scale", "worker=3"] in recipe_commands()


@pytest.mark.parametrize("args", recipe_commands(), ids=shlex.join)
def test_every_compose_line_of_the_recipe_parses(args):
    # --help makes compose parse every flag, then stop before it needs a Docker engine
    result = compose(*args, "--help", **SECRETS)
    assert result.returncode == 0, f"`docker compose {shlex.join(args)}`: {result.stderr}"


def test_a_misplaced_profile_flag_is_what_these_checks_catch():
    result = compose("up", "--build", "--scale", "worker=3", "--profile", "flower", "--help")
    assert result.returncode != 0 and "unknown flag: --profile" in result.stderr


def services(**env):
    """The compose file's services as `docker compose config` resolves them with ``env``."""
    result = compose("--profile", "flower", "config", "--format", "json", **SECRETS, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["services"]


@pytest.mark.parametrize("bind", [None, "192.168.1.20"])
def test_the_lab_knows_where_redis_is_published(bind):
    found = services(**({"REDIS_BIND": bind} if bind else {}))
    published = found["redis"]["ports"][0]
    lab = found["lab"]["environment"]
    assert lab[PUBLIC_ENV] == f"{published['host_ip']}:{published['published']}"
    assert published["host_ip"] == (bind or "127.0.0.1")
    for service in ("worker", "flower"):
        assert PUBLIC_ENV not in found[service]["environment"]


def test_with_redis_bind_the_lab_prints_a_command_laptops_can_use():
    lab = services(REDIS_BIND="192.168.1.20")["lab"]["environment"]
    found = join_address(lab["KIT_BROKER_URL"], lab["KIT_ROOM"], environ=lab)
    assert not found.problem
    assert "--broker redis://:***@192.168.1.20:6379/0 --room workshop" in found.command


def test_without_redis_bind_the_lab_says_what_to_set():
    lab = services()["lab"]["environment"]
    text = str(join_address(lab["KIT_BROKER_URL"], lab["KIT_ROOM"], environ=lab))
    assert text.startswith("Attendees can't join from their laptops")
    assert "127.0.0.1 is loopback" in text and "REDIS_BIND=" in text
