"""The search page `searchkit serve` shows a browser at `/`, driven in a real headless
Chromium (Debian's `chromium` and `chromedriver`, through selenium): type, see results,
page, move with the keyboard, open a note, the query in the URL, the token prompt.

Skipped only where the browser is missing and `CI` is not set; in CI a missing browser
fails (`.ci/run` installs it).
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from vaults import RUST, SLEEP, serving, write_vault

import searchkit

TOKEN = "page-t0ken"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--window-size=1000,800")
NOTES = 14  # more than one page of ten


@dataclass
class Served:
    url: str
    vault: Path


def _notes() -> dict[str, str]:
    notes = {"podcasts/sleep.md": SLEEP,
             "rust.md": RUST, "archive/rust.md": RUST}  # a copy: one result, `also in`
    for i in range(NOTES):
        notes[f"notes/night {i:02d}.md"] = (
            f"---\ntags: [{'dreams' if i % 2 else 'rest'}]\ndate: 2024-0{1 + i % 9}-15\n---\n"
            f"# Night {i:02d}\n\n## Deep sleep\n\n"
            f"Spindles x<y & \"z\" &lt;b&gt;and&lt;/b&gt; deep sleep, note {i}.\n"
        )
    return notes


def _serve(root: Path, *, token: str | None, obsidian: bool = False) -> Iterator[Served]:
    vault = write_vault(root / "vault", _notes())
    if obsidian:
        (vault / ".obsidian").mkdir()
    index = root / "index"
    with searchkit.open_index(index, vault) as ix:
        ix.update()
    args = ["--token", token] if token else []
    for _proc, port in serving(index, *args):
        yield Served(f"http://127.0.0.1:{port}", vault)


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from _serve(tmp_path_factory.mktemp("page"), token=None)


@pytest.fixture(scope="module")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from _serve(tmp_path_factory.mktemp("page-token"), token=TOKEN, obsidian=True)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        selenium_ok = False
    else:
        selenium_ok = True
    if not (CHROMIUM and CHROMEDRIVER and selenium_ok):
        missing = "chromium, chromium-driver (apt) and selenium (the test extra)"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the page tests: install {missing}")
        pytest.skip(f"the page tests need {missing}")
    os.environ.setdefault("SE_OFFLINE", "true")  # selenium-manager: never download
    os.environ.setdefault("SE_AVOID_STATS", "true")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()


def wait(driver: Any, what: Any, timeout: float = 10) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(what)


def css(driver: Any, selector: str) -> list[Any]:
    return driver.find_elements("css selector", selector)


def visible(driver: Any, selector: str) -> bool:
    return any(e.is_displayed() for e in css(driver, selector))


def results(driver: Any) -> list[Any]:
    return css(driver, "#results > li")


def query_of(driver: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(driver.current_url).query)


def fresh(driver: Any, url: str) -> None:
    """Open `url` in a tab with no token kept from an earlier test."""
    driver.get("about:blank")
    driver.delete_all_cookies()
    driver.get(url.split("?")[0].split("#")[0])
    driver.execute_script("sessionStorage.clear()")
    driver.get(url)


def get(url: str, headers: dict[str, str]) -> tuple[int, Any, bytes]:
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


# -- over HTTP -----------------------------------------------------------------------------

def test_root_is_the_page_for_browsers_and_the_endpoint_list_for_programs(
    token_server: Served,
) -> None:
    base = token_server.url
    code, headers, body = get(f"{base}/", {"Accept": "text/html,*/*;q=0.8"})
    assert code == 200 and headers["Content-Type"].startswith("text/html")
    assert b'<input id="q" type="search"' in body and b"<script src=\"/page.js\"" in body
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert b"<script>" not in body and b"style=" not in body  # nothing inline
    for asset, kind in (("/page.js", "text/javascript"), ("/page.css", "text/css")):
        code, headers, _ = get(base + asset, {})
        assert code == 200 and headers["Content-Type"].startswith(kind), asset
        assert headers["X-Content-Type-Options"] == "nosniff"
    # Programs still get the JSON list, and only with the token; the data routes keep it.
    auth = {"Authorization": f"Bearer {TOKEN}"}
    code, _, body = get(f"{base}/", {"Accept": "application/json", **auth})
    assert code == 200 and "/search" in json.loads(body)["endpoints"]
    assert get(f"{base}/", {"Accept": "application/json"})[0] == 401
    assert get(f"{base}/search?q=sleep", {"Accept": "text/html"})[0] == 401
    # The page is no way around the Origin and Host guards.
    assert get(f"{base}/", {"Accept": "text/html", "Origin": "https://evil.example"})[0] == 403
    assert get(f"{base}/page.js", {"Host": "evil.example"})[0] == 403


# -- in the browser -------------------------------------------------------------------------

def test_typing_shows_results_as_the_cli_does_and_the_url_holds_the_query(
    browser: Any, open_server: Served,
) -> None:
    fresh(browser, open_server.url + "/")
    box = wait(browser, lambda d: css(d, "input#q[type=search]"))[0]
    assert browser.switch_to.active_element == box
    box.send_keys("hippocampus")  # no Enter: searched as typed
    wait(browser, lambda d: results(d))
    first = results(browser)[0]
    assert first.find_element("css selector", "h2").text == "Sleep and memory › Slow-wave sleep"
    assert [m.text for m in first.find_elements("css selector", ".snippet mark")] == ["hippocampus"]
    assert first.find_element("css selector", ".loc").text == "podcasts/sleep.md:8"
    video = first.find_element("css selector", "a.video")
    assert video.get_attribute("href") == "https://www.youtube.com/watch?v=Kx3mP9vLq2E&t=100s"
    assert video.text == "▶ 1:40"
    assert query_of(browser)["q"] == ["hippocampus"]
    assert css(browser, "#count")[0].text == "1 of 1 result"


def test_markup_in_a_note_stays_text(browser: Any, open_server: Served) -> None:
    fresh(browser, open_server.url + "/?q=spindles")
    wait(browser, lambda d: results(d))
    snippet = results(browser)[0].find_element("css selector", ".snippet")
    # Text that looks like HTML is shown as text, never parsed.
    assert 'x<y & "z" <b>and</b> deep sleep' in snippet.text
    assert not snippet.find_elements("css selector", "b")


def test_a_copied_passage_is_one_result_that_names_its_copies(
    browser: Any, open_server: Served,
) -> None:
    fresh(browser, open_server.url + "/?q=borrow+ownership")
    wait(browser, lambda d: results(d))
    found = results(browser)
    assert len(found) == 1
    also = found[0].find_element("css selector", ".also").text
    loc = found[0].find_element("css selector", ".loc").text
    assert {loc.split(":")[0], also.removeprefix("also in ")} == {"rust.md", "archive/rust.md"}


def test_paging_uses_available_and_keeps_the_offset_in_the_url(
    browser: Any, open_server: Served,
) -> None:
    fresh(browser, open_server.url + "/?q=spindles&mode=lexical")
    wait(browser, lambda d: len(results(d)) == 10)
    assert browser.find_element("css selector", "input[name=mode][value=lexical]").is_selected()
    assert css(browser, "#count")[0].text == f"1–10 of {NOTES} results"
    assert not css(browser, "#prev")[0].is_enabled()
    css(browser, "#next")[0].click()
    wait(browser, lambda d: css(d, "#count")[0].text == f"11–{NOTES} of {NOTES} results")
    assert len(results(browser)) == NOTES - 10
    assert not css(browser, "#next")[0].is_enabled()
    assert query_of(browser) == {"q": ["spindles"], "mode": ["lexical"], "offset": ["10"]}
    css(browser, "#prev")[0].click()
    wait(browser, lambda d: css(d, "#count")[0].text.startswith("1–10 "))


def test_keyboard_down_and_enter_open_the_note_in_the_read_view(
    browser: Any, open_server: Served,
) -> None:
    from selenium.webdriver.common.keys import Keys

    fresh(browser, open_server.url + "/?q=hippocampus")
    wait(browser, lambda d: results(d))
    body = browser.find_element("css selector", "body")
    body.send_keys("/")  # `/` focuses the box
    assert browser.switch_to.active_element.get_attribute("id") == "q"
    browser.switch_to.active_element.send_keys(Keys.ARROW_DOWN)
    assert "selected" in results(browser)[0].get_attribute("class")
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    wait(browser, lambda d: visible(d, "#lines li.hit"))
    assert query_of(browser) == {"read": ["podcasts/sleep.md"], "line": ["8"]}
    hit = css(browser, "#lines li.hit")[0]
    assert hit.text == "## Slow-wave sleep"
    assert "podcasts/sleep.md" in css(browser, "#reader-path")[0].text
    browser.back()
    wait(browser, lambda d: results(d))
    assert query_of(browser)["q"] == ["hippocampus"]


def test_filters_mode_and_did_you_mean(browser: Any, open_server: Served) -> None:
    fresh(browser, open_server.url + "/?q=spindles&tag=dreams&after=2024-03")
    wait(browser, lambda d: results(d))
    assert browser.find_element("css selector", "#filters").get_attribute("open") is not None
    titles = [r.find_element("css selector", "h2").text for r in results(browser)]
    numbers = sorted(int(t.split()[1]) for t in titles)
    assert numbers and all(n % 2 == 1 for n in numbers)  # tagged `dreams`
    assert all(1 + n % 9 >= 3 for n in numbers)  # dated March or later
    fresh(browser, open_server.url + "/?q=hipocampus")
    wait(browser, lambda d: visible(d, "#notice") or visible(d, "#suggestion"))
    shown = css(browser, "#notice")[0].text + css(browser, "#suggestion")[0].text
    assert "hippocampus" in shown


def test_the_page_breaks_no_content_security_rule(browser: Any, open_server: Served) -> None:
    fresh(browser, open_server.url + "/?q=hippocampus")
    wait(browser, lambda d: results(d))
    browser.find_element("css selector", "#filters summary").click()
    logs = browser.get_log("browser")
    bad = [e["message"] for e in logs
           if "Content Security Policy" in e["message"] or "TrustedHTML" in e["message"]
           or ("page.js" in e["message"] and e["level"] == "SEVERE")]
    assert not bad


def test_a_token_server_asks_for_the_token_then_works(browser: Any, token_server: Served) -> None:
    from selenium.webdriver.common.keys import Keys

    fresh(browser, token_server.url + "/?q=hippocampus")
    wait(browser, lambda d: visible(d, "#login"))
    assert not visible(browser, "#q")
    field = css(browser, "#token")[0]
    field.send_keys("wrong" + Keys.ENTER)
    wait(browser, lambda d: visible(d, "#login-error"))
    assert "refused" in css(browser, "#login-error")[0].text
    css(browser, "#token")[0].send_keys(TOKEN + Keys.ENTER)
    wait(browser, lambda d: results(d))
    assert not visible(browser, "#login")
    # An Obsidian vault (a .obsidian folder): results open there.
    link = results(browser)[0].find_element("css selector", "a.open").get_attribute("href")
    assert link.startswith("obsidian://open?vault=vault&file=podcasts%2Fsleep")


def test_a_token_in_the_fragment_is_kept_out_of_the_url(
    browser: Any, token_server: Served,
) -> None:
    fresh(browser, token_server.url + f"/?q=hippocampus#token={TOKEN}")
    wait(browser, lambda d: results(d))
    assert not visible(browser, "#login")
    assert TOKEN not in browser.current_url and "#" not in browser.current_url
    # Kept for the tab: a reload searches again without asking.
    browser.refresh()
    wait(browser, lambda d: results(d))
    assert not visible(browser, "#login")
    # The "read here" view works with the token too.
    results(browser)[0].find_element("css selector", "a.read").click()
    wait(browser, lambda d: visible(d, "#lines li.hit"))
