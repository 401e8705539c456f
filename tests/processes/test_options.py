"""Worker options: `celery worker`'s, the kit's and the app's as flags; bad names and values refused."""

import click
import pytest
from celery import Celery

import kit
from kit.processes import options


def app_with_option():
    app = Celery("opts")
    app.user_options["worker"].add(click.Option(["--my-option"], is_flag=True))
    return app


def test_defaults_give_the_kits_usual_command_line():
    assert options.flags(Celery("d"), options.DEFAULTS) == [
        *("-P", "threads", "-c", "2", "-l", "info"),
        *("--without-mingle", "-E"),
    ]


def test_celerys_kits_and_apps_options_by_name_later_layers_win():
    merged = options.merged(
        options.DEFAULTS, {"pool": "solo"}, {"without-mingle": False, "my-option": True}
    )
    merged.update(queues=["a", "b"], kit_greeting="hi", loglevel="DEBUG")
    assert options.flags(app_with_option(), merged) == [
        *("-P", "solo", "-c", "2", "-l", "DEBUG", "-E", "--my-option"),
        *("--queues", "a,b", "--kit-greeting", "hi"),
    ]


@pytest.mark.parametrize(
    "given, message",
    [
        (
            {"nope": 1},
            r"unknown worker option 'nope': choose one of \[.*'kit_greeting'.*'my_option'.*'pool'",
        ),
        ({"pool": "fast"}, r"pool='fast': choose one of \['prefork', .*'threads'"),
        ({"loglevel": "loud"}, r"loglevel='loud': choose one of \['DEBUG'"),
        ({"prefetch_multiplier": "x"}, r"prefetch_multiplier='x': 'x' is not a valid integer"),
        ({"deadlock_timeout": "soon"}, r"deadlock_timeout='soon': 'soon' is not a valid float"),
        ({"hostname": "a"}, r"'hostname' is set by the kit \(.*add_worker\(name=\.\.\.\)\)"),
        ({"logfile": "x.log"}, r"'logfile' is set by the kit \(.*cluster.logs\(name\)\)"),
    ],
)
def test_bad_name_or_value_names_it_and_the_allowed_ones(given, message):
    with pytest.raises(ValueError, match=message):
        options.flags(app_with_option(), given)


def test_shortcut_and_the_same_worker_option_refused_before_anything_starts():
    with pytest.raises(ValueError, match="pool is given twice, as pool= and in worker_options"):
        kit.LocalCluster(
            Celery("twice"), pool="solo", worker_options={"pool": "threads"}, progress=False
        )
