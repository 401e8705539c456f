"""Build the course as a static site: every notebook executed, its outputs and widgets in place.

    python docs/site/build.py [--out _site] [--jobs 2] [NOTEBOOK ...]      (or: make site)

Each notebook runs in its own kernel (nbclient, widget state kept), two at a time, and becomes a page
through nbconvert's HTML exporter with the template in templates/course/; index.html lists the course
in order. Pages load scripts from _static/ only (vendor.py), so they open offline.
"""

import argparse
import concurrent.futures
import datetime
import multiprocessing
import pathlib
import shutil
import sys
import tempfile
import time

import jinja2
import nbformat

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
NOTEBOOKS = ROOT / "notebooks"
TEMPLATES = HERE / "templates"
NAME = "Bootsteps Kit: the course"
#: Seconds one notebook may take (tests/course/test_notebooks.py allows the same).
TIMEOUT = 240
#: Run after the notebook's last cell, then dropped from the page: each shown timeline stops where it
#: stands (a closed cluster's already has; a replay's at its position), with its updates stopped
#: first, and puts its items in `snapshot`, the state a static page draws. Then every widget sends its
#: whole state again: nbclient keeps only the messages of the cell it runs, so a change a background
#: thread sent (a timeline freezing itself, a panel's refresh) after its own cell ended never reached
#: the saved state, and setting the same value again sends nothing. (Not an Output widget: nbclient
#: keeps its outputs itself, and reads a resent `msg_id` as the start of a capture.)
FREEZE = """\
import gc
import ipywidgets
from kit.widgets.timeline import Timeline
from kit.widgets.timeline_widget import TimelineWidget
for t in [o for o in gc.get_objects() if isinstance(o, Timeline) and o._widget is not None]:
    t.freeze(t._widget.frozen or t.now())
for w in [o for o in gc.get_objects() if isinstance(o, TimelineWidget)]:
    w.frozen = w.frozen or w.clock()  # a widget whose Timeline is gone too
    w.refresh_snapshot()
for w in [o for o in gc.get_objects() if isinstance(o, ipywidgets.Widget) and o.comm is not None]:
    if not isinstance(w, ipywidgets.Output):
        w.send_state()
"""


def title(nb):
    """The notebook's title: its first cell's heading."""
    first = nb.cells[0].source.splitlines()[0] if nb.cells else ""
    return first.lstrip("#").strip() or "Untitled"


def course(paths):
    """Each notebook's page, title and neighbours, in the course's order."""
    pages = [
        {
            "path": str(p),
            "href": p.stem + ".html",
            "number": p.name[:2],
            "title": title(nbformat.read(p, 4)),
        }
        for p in paths
    ]
    links = [{"href": page["href"], "title": page["title"]} for page in pages]
    for i, page in enumerate(pages):
        page["prev"] = links[i - 1] if i else None
        page["next"] = links[i + 1] if i + 1 < len(pages) else None
    return pages


def execute(nb, path):
    """Run every cell in a fresh kernel, widget state kept; raise on the first error."""
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    nb.cells.append(nbformat.v4.new_code_cell(FREEZE))
    sockets = tempfile.mkdtemp(prefix="kit-site-")  # mode 0700: only this user reaches the kernel
    # Unix sockets at an absolute path (the kernel runs in the notebook's folder); over tcp,
    # ipykernel warns at every start that anyone on the machine could connect
    km = KernelManager(kernel_name="python3", transport="ipc", ip=f"{sockets}/kernel")
    client = NotebookClient(
        nb,
        km=km,
        timeout=TIMEOUT,
        store_widget_state=True,
        resources={"metadata": {"path": str(path.parent)}},
    )
    try:
        client.execute()
    finally:
        nb.cells.pop()
        if km.has_kernel:  # a kernel manager given to nbclient is ours to shut down
            km.shutdown_kernel(now=False)
        shutil.rmtree(sockets, ignore_errors=True)


def export(nb, page, out):
    """Write the executed notebook as out/<page>.html."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="course",
        extra_template_basedirs=[str(TEMPLATES)],
        widget_renderer_url="_static/embed-amd.js",
    )
    resources = {
        "metadata": {"name": page["title"]},  # the page's <title>
        "course": {"name": NAME, "prev": page["prev"], "next": page["next"]},
    }
    html, _ = exporter.from_notebook_node(nb, resources=resources)
    (out / page["href"]).write_text(html, encoding="utf-8")


def build_page(page, out):
    """Execute one notebook and write its page; returns (its href, seconds it took)."""
    start = time.monotonic()
    path = pathlib.Path(page["path"])
    nb = nbformat.read(path, 4)
    execute(nb, path)
    export(nb, page, pathlib.Path(out))
    return page["href"], time.monotonic() - start


def front(pages, out):
    """index.html: the course in order, each title linking its page."""
    import celery

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    html = env.get_template("front.html.j2").render(
        name=NAME,
        pages=pages,
        built=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        celery=celery.__version__,
    )
    (out / "index.html").write_text(html, encoding="utf-8")


def build(out, paths, jobs=2):
    """Build the site into `out` (emptied first); raise naming every notebook that failed."""
    from vendor import vendor

    out = pathlib.Path(out)
    if out.exists() and any(out.iterdir()) and not (out / "_static").is_dir():
        raise RuntimeError(f"--out {out} holds files but no site built before: name a new folder")
    shutil.rmtree(out, ignore_errors=True)
    vendor(out / "_static", cache=ROOT / "build" / "site-npm")
    pages = course(paths)
    failed = []
    spawn = multiprocessing.get_context("spawn")  # fresh interpreters, nothing inherited
    with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=spawn) as pool:
        runs = {pool.submit(build_page, page, str(out)): page for page in pages}
        for run in concurrent.futures.as_completed(runs):
            try:
                href, seconds = run.result()
                print(f"site: {href} in {seconds:.1f} s", flush=True)
            except Exception as exc:  # reported below, with the notebook's name
                failed.append(f"{pathlib.Path(runs[run]['path']).name}: {exc}")
    if failed:
        raise RuntimeError("these notebooks did not build:\n\n" + "\n\n".join(failed))
    front(pages, out)  # last: a site with a front page is a whole one
    return pages


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "notebooks", nargs="*", type=pathlib.Path, help="default: all of notebooks/"
    )
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "_site")
    parser.add_argument("--jobs", type=int, default=2, help="notebooks run at once (default 2)")
    args = parser.parse_args(argv)
    paths = sorted(args.notebooks) or sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    start = time.monotonic()
    try:
        build(args.out, paths, jobs=args.jobs)
    except RuntimeError as exc:
        print(f"site: FAILED: {exc}", file=sys.stderr)
        return 1
    print(
        f"site: built {len(paths)} notebook{'s' * (len(paths) != 1)} in {time.monotonic() - start:.0f} s "
        f"({args.jobs} at a time): {args.out / 'index.html'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
