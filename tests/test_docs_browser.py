"""The built documentation in a real browser: headless Chromium renders the landing page, a block
page and an architecture page, at a desktop and a phone-sized width, and the test checks that no
page is wider than the window (wide tables, code and diagrams scroll inside their frames), that
every image loads, and that every internal link (pages, anchors, the full-size diagrams) and
every stylesheet and script the pages use resolves.

Chromium is Debian's `chromium` package, which `./dev.sh setup` installs with apt-get where it
can (as it installs Graphviz); without a Chromium on the PATH the test is skipped and says why.
The page is a copy of the built one with a small script added that, once the page has loaded,
writes the measurements into the page; `chromium --dump-dom` prints it.
"""

import html
import html.parser
import json
import re
import shutil
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
BROWSER = next((shutil.which(name) for name in BROWSERS if shutil.which(name)), None)
PAGES = ["index.html", "blocks/inception_module.html", "architectures/googlenet.html"]
WIDTHS = (1280, 720)  # a desktop window and a narrow one (furo hides its sidebars)

pytestmark = [
    pytest.mark.backend_independent,  # nothing here depends on the Keras backend (conftest.py)
    pytest.mark.heavy,  # builds the documentation (about half a minute)
    pytest.mark.skipif(BROWSER is None, reason=(
        "no Chromium on the PATH: install Debian's chromium package (`sudo apt-get install "
        "chromium`; ./dev.sh setup does it where apt-get can be used) to run the browser test")),
]

#: Added before `</body>`: after the load event, the measurements as JSON in a <pre>.
PROBE = """<script>
window.addEventListener("load", function () {
  var root = document.documentElement;
  var images = Array.prototype.map.call(document.images, function (img) {
    return {src: img.getAttribute("src"), loaded: img.complete && img.naturalWidth > 0};
  });
  var wide = [];
  document.querySelectorAll("body *").forEach(function (el) {
    var box = el.getBoundingClientRect();
    if (box.right > root.clientWidth + 1 && box.width > 0) {
      wide.push(el.tagName + "." + el.className);
    }
  });
  var result = {scrollWidth: root.scrollWidth, clientWidth: root.clientWidth,
                images: images, wide: wide.slice(0, 5)};
  var out = document.createElement("pre");
  out.id = "cnnblocks-probe";
  out.style.cssText = "white-space: pre-wrap; word-break: break-all; width: 10px";
  out.textContent = JSON.stringify(result);
  document.body.appendChild(out);
});
</script>"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("docs")
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(out / "doctrees"), str(ROOT / "docs"), str(out / "html")],
        capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-6000:]
    return out / "html"


def render(page, width):
    """The probe's measurements of `page` rendered by Chromium in a window `width` wide."""
    probe = page.with_name(page.stem + ".probe.html")
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"),
                     encoding="utf-8")
    result = subprocess.run(
        [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--allow-file-access-from-files", f"--window-size={width},1000",
         "--virtual-time-budget=15000", "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="cnnblocks-probe"[^>]*>(.*?)</pre>', result.stdout, re.S)
    assert found, f"no measurements from {BROWSER}: {result.stderr[-2000:]}"
    return json.loads(html.unescape(found.group(1)))


class _Links(html.parser.HTMLParser):
    """The URLs a page refers to (`href` of links and stylesheets, `src` of scripts and images)
    and the ids it defines."""

    def __init__(self):
        super().__init__()
        self.urls, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        for key in ("href", "src"):
            if attrs.get(key) and tag in ("a", "link", "script", "img"):
                self.urls.append((tag, attrs[key]))


def _parse(path, cache={}):  # noqa: B006 - a cache of parsed pages for this test run
    if path not in cache:
        parser = _Links()
        parser.feed(path.read_text(encoding="utf-8", errors="replace"))
        cache[path] = parser
    return cache[path]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("width", WIDTHS)
def test_page_fits_the_window_and_its_images_load(site, page, width):
    seen = render(site / page, width)
    assert seen["scrollWidth"] <= seen["clientWidth"] + 1, (
        f"{page} at {width} px is {seen['scrollWidth']} px wide; too wide: {seen['wide']}")
    assert seen["images"], f"{page} shows no image"
    broken = [image["src"] for image in seen["images"] if not image["loaded"]]
    assert not broken, f"{page}: images that do not load: {broken}"


@pytest.mark.parametrize("page", PAGES)
def test_every_internal_link_resolves(site, page):
    path = site / page
    broken = []
    for tag, url in _parse(path).urls:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme or url.startswith(("//", "mailto:")):
            continue  # external (the pages load nothing from the network: next test)
        target = (path.parent / urllib.parse.unquote(parts.path)).resolve() if parts.path \
            else path
        if not target.is_file():
            broken.append(f"{tag} {url}: no file {target}")
        elif parts.fragment and target.suffix == ".html" and \
                urllib.parse.unquote(parts.fragment) not in _parse(target).ids:
            broken.append(f"{tag} {url}: no id {parts.fragment!r} in {target.name}")
    assert not broken, f"{page}: " + "; ".join(broken[:10])


@pytest.mark.parametrize("page", PAGES)
def test_pages_load_nothing_from_the_network(site, page):
    external = [url for tag, url in _parse(site / page).urls
                if tag in ("script", "link", "img") and urllib.parse.urlsplit(url).scheme]
    assert not external, f"{page} needs the network for {external} (offline readers)"
    assert "mathjax" not in (site / page).read_text(encoding="utf-8").lower()


def test_every_diagram_links_to_its_full_size_svg(site):
    for page in PAGES:
        text = (site / page).read_text(encoding="utf-8")
        figures = re.findall(r'<figure class="[^"]*diagram[^"]*"[^>]*>\s*<a[^>]*href="([^"]+)"',
                             text)
        assert figures, f"{page} has no linked diagram"
        for href in figures:
            assert href.endswith(".svg") and (site / page).parent.joinpath(href).is_file()
