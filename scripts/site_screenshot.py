"""Screenshot the leaderboard web page in headless Chromium (docs/leaderboard-site.png).

    python scripts/site_screenshot.py [--results results] [--output docs/leaderboard-site.png]

Builds the site of a results folder in a temporary folder (``medteb leaderboard --html``) and
saves what a 1280-pixel-wide browser window shows. Needs Debian's ``chromium`` and
``chromium-driver`` and ``selenium`` (in the test extra).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default="results")
    parser.add_argument("--output", default="docs/leaderboard-site.png")
    parser.add_argument("--setting", default="zero-shot", help="the view shown")
    parser.add_argument("--height", type=int, default=1700, help="window height in pixels")
    args = parser.parse_args()

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    from medteb.results.outputs import write_site

    with tempfile.TemporaryDirectory() as tmp:
        write_site(args.results, Path(tmp) / "site")
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for flag in (*FLAGS, f"--user-data-dir={Path(tmp) / 'profile'}"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        try:
            driver.set_window_size(1280, args.height)
            driver.get((Path(tmp) / "site" / "index.html").as_uri() + f"#{args.setting}")
            driver.save_screenshot(args.output)
        finally:
            driver.quit()
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
