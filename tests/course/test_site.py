"""The course site (docs/site/build.py) in Debian's Chromium: every page offline, its outputs in place.

The session builds the site once into a temporary folder; with KIT_SITE=<folder> (CI sets it after
`make site`) it opens that build instead. Every request that is not a file of the page is blocked, so a
script, font or style from a CDN fails the test.
"""

import json
import os
import pathlib
import subprocess
import sys

import nbformat
import pytest
from test_browser import CHROMIUM_ARGS, chromium

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = ROOT / "docs" / "site" / "build.py"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
IDS = [path.stem for path in NOTEBOOKS]
#: Seconds the build may take (it takes about 2 minutes on this 2-core machine).
BUILD_TIMEOUT = 900

# one xdist process runs the module, so the site is built once when KIT_SITE is not given
pytestmark = [
    pytest.mark.browser,
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.timeout(1200),
    pytest.mark.xdist_group("site"),
]

#: Waits until every saved widget view on the page is drawn (the widget manager put a view in it).
WIDGETS_DRAWN = """() => [...document.querySelectorAll(
    "script[type='application/vnd.jupyter.widget-view+json']")]
    .every(s => s.parentElement.querySelector('.lm-Widget'))"""
#: Each timeline view: the items it holds (timeline_view.js keeps the count in data-items), its
#: canvas's size and how many of its pixels are coloured (items; lanes, grid and text are grey).
TIMELINES = """() => [...document.querySelectorAll('.kit-tl')].map(root => {
    const c = root.querySelector('canvas.kit-tl-canvas'), box = c.getBoundingClientRect();
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let coloured = 0;
    for (let i = 0; i < d.length; i += 4) {
        const [r, g, b, a] = d.slice(i, i + 4);
        if (a > 0 && Math.max(r, g, b) - Math.min(r, g, b) > 60) coloured++;
    }
    return {items: Number(root.dataset.items), width: box.width, height: box.height, coloured};
})"""
#: Graphs: the SVG outputs of cells (an <img> of image/svg+xml, as JupyterLab shows them) and the SVGs
#: widgets draw (the gossip chart, the graph tab); each with its size now (0 while in a hidden tab).
GRAPHS = """() => [
    ...[...document.querySelectorAll('.jp-RenderedSVG img')].map(e => ({
        kind: 'output', svg: e.src.startsWith('data:image/svg+xml'), drawn: e.naturalWidth > 0, el: e})),
    ...[...document.querySelectorAll('.jupyter-widgets svg')].map(e => ({
        kind: 'widget', svg: true, drawn: true, el: e})),
].map(g => { const r = g.el.getBoundingClientRect();
    return {kind: g.kind, svg: g.svg, drawn: g.drawn, width: r.width, height: r.height}; })"""


def title(path):
    """A notebook's title, as the front page should show it: its first cell's heading."""
    return nbformat.read(path, 4).cells[0].source.splitlines()[0].lstrip("#").strip()


def saved_timeline_states(html):
    """The saved widget state of each timeline on a page."""
    start = html.find('<script type="application/vnd.jupyter.widget-state+json">')
    if start < 0:
        return []
    text = html[html.index(">", start) + 1 : html.index("</script>", start)]
    models = json.loads(text)["state"].values()
    return [
        m["state"] for m in models if m["model_name"] == "AnyModel" and "snapshot" in m["state"]
    ]


def saved_timelines(html):
    """Item counts of the timelines saved in a page's widget state (what their views must draw)."""
    states = saved_timeline_states(html)
    return [sum(len(chunk["t"]) for chunk in state["snapshot"].values()) for state in states]


@pytest.fixture(scope="session")
def site(redis_server, tmp_path_factory):
    """The built site: KIT_SITE's, or one built now (every notebook executed)."""
    given = os.environ.get("KIT_SITE")
    if given:
        path = ROOT / given
        assert (path / "index.html").is_file(), f"KIT_SITE={given}: no site there (make site)"
        return path
    out = tmp_path_factory.mktemp("site") / "_site"
    done = subprocess.run(
        [sys.executable, str(BUILD), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        cwd=ROOT,
    )
    assert done.returncode == 0, f"the site did not build:\n{done.stderr[-4000:]}"
    return out


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    executable = chromium()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Visit:
    """A page opened from file:// with every other request blocked; what went wrong is kept."""

    def __init__(self, browser, path):
        self.errors, self.blocked = [], []
        self.page = browser.new_page(viewport={"width": 1200, "height": 900})
        self.page.route("**/*", self._route)
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        self.page.goto(path.as_uri())
        self.page.wait_for_function(WIDGETS_DRAWN, timeout=60_000)

    def _route(self, route):
        if route.request.url.split(":", 1)[0] in ("file", "data", "blob"):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def tabs(self):
        """Show each tab of every tab bar in turn (dashboards), yielding after each."""
        yield
        tabs = self.page.locator(".jupyter-widgets .lm-TabBar-tab")
        for i in range(tabs.count()):
            tabs.nth(i).click()
            self.page.wait_for_timeout(200)
            yield

    def close(self):
        self.page.close()


@pytest.fixture
def visit(browser, site):
    visits = []

    def open_(name):
        visits.append(Visit(browser, site / name))
        return visits[-1]

    yield open_
    for v in visits:
        v.close()


def test_front_page_links_every_notebook_in_order(visit, site):
    v = visit("index.html")
    links = v.page.eval_on_selector_all(
        "ol.course a", "els => els.map(a => [a.getAttribute('href'), a.textContent])"
    )
    assert links == [[p.stem + ".html", title(p)] for p in NOTEBOOKS]
    assert all((site / href).is_file() for href, _ in links)
    assert v.errors == [] and v.blocked == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_page_opens_offline_with_its_graphs(visit, path):
    v = visit(path.stem + ".html")
    graphs = {}  # index -> the largest size it had, as each tab was shown
    for _ in v.tabs():
        for i, g in enumerate(v.page.evaluate(GRAPHS)):
            assert g["svg"] and g["drawn"], f"graph {i} is not a drawn SVG: {g}"
            graphs[i] = max(graphs.get(i, 0), g["width"] * g["height"])
    hidden = [i for i, area in graphs.items() if area == 0]
    assert not hidden, f"{path.stem}: graphs {hidden} of {len(graphs)} never had a size"
    assert v.page.locator("nav.course-nav a[href='index.html']").count() == 2
    assert v.page.title() == title(path)
    assert v.blocked == [], f"requests beyond the page's own files: {v.blocked}"
    assert v.errors == [], f"console errors: {v.errors}"


def test_the_blueprint_tour_shows_its_graphs(visit):
    v = visit("01_tour_the_blueprints.html")
    outputs = [g for g in v.page.evaluate(GRAPHS) if g["kind"] == "output"]
    assert len(outputs) >= 2 and all(g["width"] > 100 and g["height"] > 50 for g in outputs)


def test_timelines_are_drawn_from_saved_state(visit, site):
    drawn = []
    for path in NOTEBOOKS:
        saved = saved_timelines((site / (path.stem + ".html")).read_text(encoding="utf-8"))
        if not saved:
            continue
        v = visit(path.stem + ".html")
        for _ in v.tabs():
            pass  # the last tab of a dashboard is its timeline: leave it shown
        views = v.page.evaluate(TIMELINES)
        assert views, f"{path.stem}: timelines saved but none drawn"
        for view in views:
            assert view["items"] in saved, f"{path.stem}: drew {view}, saved {saved}"
            if view["items"] and view["width"] > 0:
                drawn.append((path.stem, view))
        assert v.errors == [], f"{path.stem}: console errors: {v.errors}"
    assert drawn, "no page draws a timeline with items from its saved state"
    blank = [(page, view) for page, view in drawn if view["coloured"] <= 20]
    assert not blank, f"timelines with items that drew none of them: {blank}"


def test_every_saved_timeline_is_frozen_at_its_items(site):
    """A static page has no kernel clock: a timeline saved unfrozen would draw the reader's last
    60 s, empty. Each picture must end at or after its last item, within its window."""
    checked, wrong = [], []
    for path in NOTEBOOKS:
        states = saved_timeline_states((site / (path.stem + ".html")).read_text(encoding="utf-8"))
        for i, state in enumerate(states):
            frozen, window = state["frozen"], state["window"]
            last = max((c["t0"] + t for c in state["snapshot"].values() for t in c["t"]), default=0)
            checked.append(path.stem)
            if not frozen:
                wrong.append(f"{path.stem}: timeline {i + 1} of {len(states)} saved unfrozen")
            elif last and not frozen - window <= last <= frozen + 1:
                wrong.append(
                    f"{path.stem}: timeline {i + 1} frozen at {frozen:.2f}, last item {last:.2f}"
                )
    assert checked, "no page saved a timeline"
    assert wrong == []


def test_a_timeline_without_a_kernel_raises_nothing_when_used(visit):
    """The view asks the kernel for a snapshot and sends the periodic toggle: no comm, no error."""
    v = visit("02_write_a_worker_bootstep.html")
    before = v.page.evaluate(TIMELINES)[0]
    v.page.locator(".kit-tl-periodic").first.click()
    v.page.locator(".kit-tl-boot").first.click()  # zoom to the boot waterfall
    v.page.wait_for_timeout(300)
    after = v.page.evaluate(TIMELINES)[0]
    assert after["items"] == before["items"] > 0  # the saved picture stays
    assert after["coloured"] > 20, after
    assert v.errors == []


def test_build_refuses_a_folder_that_is_not_a_site(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    done = subprocess.run(
        [sys.executable, str(BUILD), "--out", str(tmp_path), str(NOTEBOOKS[0])],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and "holds files but no site" in done.stderr
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_build_names_the_notebook_that_failed(tmp_path, site):
    broken = tmp_path / "00_broken.ipynb"
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# Break a notebook"),
            nbformat.v4.new_code_cell("1 / 0"),
        ]
    )
    nbformat.write(nb, broken)
    done = subprocess.run(
        [sys.executable, str(BUILD), "--out", str(tmp_path / "out"), str(broken)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1
    assert "00_broken.ipynb" in done.stderr and "ZeroDivisionError" in done.stderr
