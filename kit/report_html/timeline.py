"""The timeline's saved state: what kit.Timeline would send its widget, for the whole run."""

from kit.widgets.timeline import Timeline
from kit.widgets.timeline_view import CHUNK

#: Items of each kind the report keeps at most (a fire, a marker, a boot call, a task run): bounds
#: the file of a long, busy run.
MAX_POINTS = 50_000


def timeline_state(view):
    """The traits and chunks timeline_view.js draws, for every event the view still holds.

    {'lanes', 'series', 'chunks', 'since', 'window', 'frozen'} as the widget has them (frozen at
    the view's clock), plus what its "show Celery's periodic timers" button adds:
    'periodic_series' and 'periodic_chunks' (the fires of Celery's own timers).
    """
    since = view.started_at or first_event_time(view) or view.now()
    window = max(view.now() - since, 0.0) + 2 * CHUNK
    timeline = Timeline(view, window=window, max_points=MAX_POINTS)
    try:
        quiet = timeline.view_data()
        timeline.periodic = True
        loud = timeline.view_data()
    finally:
        timeline.close()
    return {
        "lanes": quiet["lanes"],
        "series": quiet["series"],
        "chunks": quiet["chunks"],
        "since": since,
        "window": window,
        "frozen": quiet["now"],
        "periodic_series": loud["series"],
        "periodic_chunks": {k: v for k, v in loud["chunks"].items() if k not in quiet["chunks"]},
    }


def first_event_time(view):
    """The timestamp of the first event the view holds, or None."""
    history = view.events.history
    return history[0].get("timestamp") if history else None


def item_count(state):
    """How many items the timeline draws by default (without Celery's periodic timers)."""
    return sum(len(chunk["t"]) for chunk in state["chunks"].values())
