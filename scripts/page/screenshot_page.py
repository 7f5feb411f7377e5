"""Serve examples/vault and save a screenshot of the search page to docs/page.png.

    python scripts/page/screenshot_page.py [--query "sleep spindles"] [--out docs/page.png]

Uses Debian's headless Chromium and chromedriver (`apt-get install chromium
chromium-driver`) through selenium (in the `test` extra), as tests/test_page.py does.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[2]
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--hide-scrollbars", "--force-device-scale-factor=1")


def browser(user_data: str, width: int, height: int):  # type: ignore[no-untyped-def]
    os.environ.setdefault("SE_OFFLINE", "true")  # selenium-manager: never download
    os.environ.setdefault("SE_AVOID_STATS", "true")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for flag in (*FLAGS, f"--user-data-dir={user_data}", f"--window-size={width},{height}"):
        opts.add_argument(flag)
    return webdriver.Chrome(options=opts, service=Service("/usr/bin/chromedriver"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--query", default="sleep spindles")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "page.png")
    ap.add_argument("--width", type=int, default=1000)
    ap.add_argument("--height", type=int, default=760)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        env = {**os.environ, "SEARCHKIT_NO_SERVER": "1"}
        vault = ROOT / "examples" / "vault"
        subprocess.run([sys.executable, "-m", "searchkit", "index", str(vault), "--index",
                        str(index)], check=True, env=env, stdout=subprocess.DEVNULL)
        proc = subprocess.Popen([sys.executable, "-m", "searchkit", "serve", "--index", str(index),
                                 "--port", "0"], stdout=subprocess.DEVNULL, env=env)
        try:
            info = index / "searchkit.serve.json"
            deadline = time.monotonic() + 30
            while not info.exists():
                if proc.poll() is not None or time.monotonic() > deadline:
                    print("the server did not start", file=sys.stderr)
                    return 1
                time.sleep(0.1)
            port = json.loads(info.read_text())["port"]
            driver = browser(str(Path(tmp) / "chromium"), args.width, args.height)
            try:
                from selenium.webdriver.support.ui import WebDriverWait

                driver.get(f"http://127.0.0.1:{port}/?{urlencode({'q': args.query})}")
                WebDriverWait(driver, 20).until(
                    lambda d: d.find_elements("css selector", "#results li"))
                time.sleep(0.5)  # thumbnails: shown if they load, removed if they fail
                png = driver.get_screenshot_as_png()
            finally:
                driver.quit()
        finally:
            proc.terminate()
            proc.wait(10)
    png = _smaller(png)
    args.out.write_bytes(png)
    print(f"{args.out} ({len(png) // 1024} kB)")
    return 0


def _smaller(png: bytes) -> bytes:
    """A palette PNG when Pillow is at hand (about a third of the size); else as taken."""
    try:
        from PIL import Image
    except ImportError:
        return png
    img = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=128)
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()


if __name__ == "__main__":
    raise SystemExit(main())
