"""The gossip panel's chart: each worker's view of the cluster size, until it left or was lost."""

from kit.widgets.panel import clock, escape
from kit.worker_states import natural

COLOURS = ("#4c78a8", "#e45756", "#54a24b", "#b279a2", "#f58518", "#72b7b2", "#9d755d", "#eeca3b")
#: How a line ends: the mark drawn there and its colour.
ENDS = {"lost": ("×", "#c62828"), "left": ("○", "#757575")}
#: Up to this many workers get a legend line each; more are summed up by the size they see.
LEGEND_LINES = 8


def in_window(points, start):
    """The points from `start` on, led by the level the worker saw at `start`.

    That level is its last earlier point.
    """
    points = list(points)
    before = [p for p in points if p[0] < start]
    inside = [p for p in points if p[0] >= start]
    return ([(start, before[-1][1])] if before else []) + inside


def _legend(lines, ends):
    """Legend rows: (text, colour), one per worker, or summed up by size for many workers."""
    if len(lines) <= LEGEND_LINES:
        rows = []
        for host, points, colour in lines:
            end = ends.get(host)
            rows.append(
                (
                    f"{host}: {end[1]} at {clock(end[0])[:8]}"
                    if end
                    else f"{host}: {points[-1][1]}",
                    colour,
                )
            )
        return rows
    seeing = {}
    for host, points, _ in lines:
        if host not in ends:
            seeing[points[-1][1]] = seeing.get(points[-1][1], 0) + 1
    rows = [(f"{n} see {size}", "#333") for size, n in sorted(seeing.items(), reverse=True)]
    gone = sorted((h for h, _, _ in lines if h in ends), key=natural)
    rows += [(f"{h}: {ends[h][1]}", ENDS[ends[h][1]][1]) for h in gone[:4]]
    return rows + ([(f"… {len(gone) - 4} more gone", "#757575")] if len(gone) > 4 else [])


def size_chart(sizes, now, live, ends=None, span=120.0, width=540, height=230, least=20.0):
    """An SVG step chart of each worker's cluster size over the last `span` seconds.

    sizes: [(worker, [(time, size), ...])]; live: workers alive now; ends: {worker: (time,
    'lost'|'left')}. A line runs to now while its worker lives, else to the moment it left or was
    lost, marked there. The time axis fits the data: from the first point (at least `least`
    seconds), up to `span`."""
    first = min([t for _, points in sizes for t, _ in points] or [now])
    span = min(span, max(least, now - first + 1.0))
    ends, start = ends or {}, now - span
    left, top, right, bottom = 30, 32, width - 190, height - 24
    top_size = max([s for _, points in sizes for _, s in points] + [1])
    x = lambda t: left + (right - left) * (t - start) / span  # noqa: E731
    y = lambda s: bottom - (bottom - top) * s / top_size  # noqa: E731
    title = f"cluster size as each worker sees it (last {span:.0f} s)"
    parts = [f"<text x='{left}' y='14' font-size='12'>{title}</text>"]
    for s in range(0, top_size + 1, max(1, top_size // 6)):
        parts.append(
            f"<line x1='{left}' x2='{right}' y1='{y(s):.1f}' y2='{y(s):.1f}' stroke='#e5e5e5'/>"
            f"<text x='{left - 6}' y='{y(s) + 4:.1f}' font-size='10' text-anchor='end'>{s}</text>"
        )
    lines, many = [], len(sizes) > LEGEND_LINES
    for i, (host, points) in enumerate(sorted(sizes, key=lambda item: natural(item[0]))):
        end = ends.get(host)
        if end is not None and end[0] < start:
            # gone before the window
            continue
        points = in_window(points, start)
        if not points:
            continue
        colour = COLOURS[i % len(COLOURS)]
        stop = end[0] if end else now if host in live else points[-1][0]
        path = [f"M{x(points[0][0]):.1f},{y(points[0][1]):.1f}"]
        for t, s in points[1:] + [(stop, points[-1][1])]:
            path.append(f"H{x(min(t, stop)):.1f}V{y(s):.1f}")
        width_ = "1.2" if many else "2"
        parts.append(
            f"<path d='{''.join(path)}' fill='none' stroke='{colour}' stroke-width='{width_}'/>"
        )
        if end:
            mark, mark_colour = ENDS[end[1]]
            parts.append(
                f"<text x='{x(stop):.1f}' y='{y(points[-1][1]) + 5:.1f}' font-size='15' text-anchor='middle' "
                f"fill='{mark_colour}'>{mark}</text>"
            )
        lines.append((host, points, colour))
    for row, (text, colour) in enumerate(_legend(lines, ends)):
        at = f"x='{right + 8}' y='{top + 14 * row + 10}'"
        parts.append(f"<text {at} font-size='11' fill='{colour}'>{escape(text)}</text>")
    ticks = "".join(
        f"<text x='{x(now - a):.1f}' y='{height - 8}' font-size='10' text-anchor='{_anchor(a, span)}'>"
        f"{f'-{a:.0f} s' if a else 'now'}</text>"
        for a in (span, span * 0.75, span / 2, span / 4, 0)
    )
    svg = f"<svg width='{width}' height='{height}' style='font-family:sans-serif'>"
    return f"{svg}{''.join(parts)}{ticks}</svg>"


def _anchor(ago, span):
    """Tick labels stay inside the chart: the first starts at its tick, the last ends there."""
    return "start" if ago == span else "end" if ago == 0 else "middle"
