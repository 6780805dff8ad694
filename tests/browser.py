"""A real browser for page tests: Debian's Chromium driven by Selenium (chromedriver).

`browser` is one headless Chromium for the session with a fresh profile, no network
services of its own (no sync, updates or background fetches). `browser.width(px)` sets
the viewport exactly (CSS pixels), `browser.shot(name)` saves a screenshot under
build/test-artifacts/ (or $IMR_TEST_ARTIFACTS). Tests skip, saying why, only where no
Chromium is installed (apt-get install -y chromium chromium-driver).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(os.environ.get("IMR_TEST_ARTIFACTS", ROOT / "build" / "test-artifacts"))
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-dev-shm-usage", "--window-size=1280,900"]


class Browser:
    def __init__(self, driver):
        self.driver = driver

    def width(self, px: int, height: int = 900) -> None:
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": px, "height": height, "deviceScaleFactor": 1, "mobile": px < 600})

    def js(self, script: str, *args):
        return self.driver.execute_script(script, *args)

    def wait(self, condition: str, timeout: float = 120):
        """Wait until the JS expression `condition` is truthy; return its value."""
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, timeout, poll_frequency=0.2).until(
            lambda d: d.execute_script(f"return {condition}"))

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / name
        self.driver.save_screenshot(str(path))
        assert path.stat().st_size > 1000
        return path


def _find(name: str) -> str | None:
    return shutil.which(name) or next((p for p in (f"/usr/bin/{name}",) if Path(p).exists()),
                                      None)


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    chromium, driver_path = _find("chromium"), _find("chromedriver")
    if not chromium or not driver_path:
        pytest.skip("no Chromium here (apt-get install -y chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service as ChromeService

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in [*FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=ChromeService(executable_path=driver_path))
    try:
        yield Browser(driver)
    finally:
        driver.quit()
