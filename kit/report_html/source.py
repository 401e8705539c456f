"""What a report is made from: a recording's path, or a cluster view (LocalCluster, Room...)."""

import os

from kit.view import ClusterView

#: The file names a recording has (kit/record/fileformat.py).
RECORDING_SUFFIXES = (".jsonl", ".jsonl.gz")


def open_view(source):
    """(view, opened): the ClusterView to report on, and whether this call opened it.

    A path opens a replay of `source`, played to its end, that the caller closes.
    """
    if isinstance(source, ClusterView):
        return source, False
    if isinstance(source, (str, os.PathLike)):
        from kit.record.replay import replay

        path = os.fspath(source)
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"no recording at {path!r}. Fix: give the path that cluster.record(path) or "
                f"LocalCluster(..., record=path) wrote (a name ending in {RECORDING_SUFFIXES})"
            )
        view = replay(path)
        view.seek(view.duration)
        return view, True
    raise TypeError(
        f"cannot make a report of {source!r}: give the path of a recording (.jsonl or .jsonl.gz), "
        "a kit.LocalCluster, a kit.Room, a kit.replay(...) or any other kit.view.ClusterView"
    )
