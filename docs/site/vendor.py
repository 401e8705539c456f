"""The JavaScript a static page needs to draw saved widgets, copied into the site at build time.

Nothing here is committed: require.js and Jupyter's HTML widget manager come from the npm registry
(`npm pack`, cached in build/site-npm/), anywidget's AMD module from the installed anywidget package.
"""

import importlib.util
import json
import pathlib
import shutil
import subprocess
import tarfile
from importlib.metadata import version

#: npm packages (pinned) and the files each gives the site, as {path in the package: name in _static/}.
NPM = {
    # Jupyter's widget manager for static pages (ipywidgets 8): base, controls and output widgets
    # in one AMD bundle, with its icon fonts beside it.
    "@jupyter-widgets/html-manager@1.0.15": {
        "dist/embed-amd.js": "embed-amd.js",
        "dist/*.woff2": "",
    },
    "requirejs@2.3.8": {"require.js": "require.js"},
}
CACHE = pathlib.Path("build") / "site-npm"


def tarball(spec, cache):
    """The package's tarball in `cache`, fetched with `npm pack` the first time."""
    name = spec.rsplit("@", 1)[0].lstrip("@").replace("/", "-") + "-" + spec.rsplit("@", 1)[1]
    path = cache / f"{name}.tgz"
    if not path.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError(
                f"npm is needed once to fetch {spec} for the site's widgets: apt-get install npm"
            )
        cache.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [npm, "pack", spec, "--pack-destination", str(cache), "--silent"],
            capture_output=True,
            text=True,
        )
        if done.returncode or not path.exists():
            raise RuntimeError(f"npm pack {spec} failed:\n{done.stderr[-2000:]}")
    return path


def unpack(path, files, static):
    """Copy `files` ({pattern in the package: name, or '' to keep it}) out of a tarball; returns
    the package's license (from its package.json)."""
    with tarfile.open(path) as tar:
        for member in tar.getmembers():
            inside = pathlib.PurePosixPath(member.name).relative_to("package")
            for pattern, name in files.items():
                if member.isfile() and inside.match(pattern):
                    (static / (name or inside.name)).write_bytes(tar.extractfile(member).read())
        return json.load(tar.extractfile("package/package.json")).get("license", "see the package")


def anywidget_amd():
    """anywidget's front end as an AMD module (the one its package ships for the classic notebook)."""
    spec = importlib.util.find_spec("anywidget")
    path = pathlib.Path(spec.origin).parent / "nbextension" / "index.js"
    if not path.exists():
        raise RuntimeError(f"anywidget's AMD module is missing ({path}): pip install -U anywidget")
    return path


def vendor(static, cache=CACHE):
    """Fill `static` (the site's _static/) with the widget manager, require.js and anywidget."""
    static.mkdir(parents=True, exist_ok=True)
    sources = []
    for spec, files in NPM.items():
        license = unpack(tarball(spec, cache), files, static)
        sources.append(f"{', '.join(n or p for p, n in files.items())}: npm {spec} ({license})")
    shutil.copyfile(anywidget_amd(), static / "anywidget.js")
    sources.append(
        f"anywidget.js: PyPI anywidget {version('anywidget')} (MIT), nbextension/index.js"
    )
    (static / "SOURCES.txt").write_text(
        "Copied here by docs/site/vendor.py:\n" + "\n".join(sources) + "\n"
    )
