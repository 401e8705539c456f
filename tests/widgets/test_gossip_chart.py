"""The gossip size chart: a line per worker until it left or was lost, marked; the level at window start."""

import re

from kit.widgets.gossip_chart import in_window, size_chart

NOW = 1_000_000.0


def paths(svg):
    return re.findall(r"<path d='([^']*)'", svg)


def test_level_at_window_start_is_kept():
    assert in_window([(NOW - 500, 2), (NOW - 30, 3)], NOW - 120) == [(NOW - 120, 2), (NOW - 30, 3)]
    svg = size_chart([("w1@h", [(NOW - 500, 2)])], NOW, {"w1@h"})
    (line,) = paths(svg)
    assert line.startswith("M30.0,") and "w1@h: 2" in svg  # from the window's left edge, at level 2


def test_a_lost_worker_keeps_its_line_up_to_the_loss_marked():
    sizes = [("w1@h", [(NOW - 60, 2)]), ("w2@h", [(NOW - 60, 2), (NOW - 10, 1)])]
    svg = size_chart(sizes, NOW, live={"w2@h"}, ends={"w1@h": (NOW - 12, "lost")}, least=120)
    lost, alive = paths(svg)
    stop = 30 + (540 - 190 - 30) * (120 - 12) / 120
    assert lost.endswith(
        f"H{stop:.1f}V{lost.rsplit('V', 1)[1]}"
    )  # ends where it was lost, not at "now"
    assert alive.split("H")[-1].startswith(f"{540 - 190:.1f}")  # the live one runs to now
    assert "×" in svg and re.search(r"w1@h: lost at \d\d:\d\d:\d\d", svg) and "w1@h: 2" not in svg


def test_the_time_axis_fits_a_young_cluster():
    svg = size_chart([("w1@h", [(NOW - 8, 2)])], NOW, {"w1@h"})
    assert "last 20 s" in svg and "-20 s" in svg and "-120 s" not in svg


def test_a_worker_gone_before_the_window_is_not_drawn_and_many_are_summed_up():
    svg = size_chart([("w1@h", [(NOW - 500, 2)])], NOW, set(), ends={"w1@h": (NOW - 400, "left")})
    assert paths(svg) == []
    many = [(f"w{i}@h", [(NOW - 5, 30)]) for i in range(1, 31)]
    svg = size_chart(many, NOW, {h for h, _ in many[:-1]}, ends={"w30@h": (NOW - 1, "lost")})
    assert len(paths(svg)) == 30 and "29 see 30" in svg and "w30@h: lost" in svg
    assert svg.count("<text") < 30, "30 workers: the legend is summed up, not 30 lines"
