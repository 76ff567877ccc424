"""Debian's Chromium, headless, driven by selenium: the browser of the portal and console tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
except ImportError:  # reported by `chromium` as a failure, not a skip
    webdriver = None

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT = 60  # seconds; the machine is small and shared


def chromium(tmp_path: Path, *, width: int, height: int, mobile: bool, lang: str = "en-GB",
             accept_languages: str | None = None, proxy: str | None = None):
    """A headless Chromium `width` x `height` (a touch phone when `mobile`: a desktop window
    cannot be narrower than 500 px), speaking `lang`; the caller quits it. With `proxy`
    (tests/e2e/phones.py) its connections, loopback ones too, go through that proxy."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not shutil.which(p)]
    if webdriver is None or missing:
        pytest.fail("the browser tests need selenium (pip install -e '.[test]') and Debian's chromium and "
                    f"chromium-driver (scripts/test installs them); missing: {', '.join(missing) or 'selenium'}")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = f"{lang}-{width}"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--no-default-browser-check", "--disable-quic",
                *((f"--proxy-server={proxy}", "--proxy-bypass-list=<-loopback>") if proxy else ("--no-proxy-server",)),
                "--disable-domain-reliability", "--disable-client-side-phishing-detection",
                "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication",
                f"--window-size={width},{height}", f"--lang={lang}", f"--user-data-dir={tmp_path / f'chromium-{profile}'}"):
        options.add_argument(arg)
    if accept_languages:
        options.add_experimental_option("prefs", {"intl.accept_languages": accept_languages})
    if mobile:
        options.add_experimental_option("mobileEmulation", {"deviceMetrics": {"width": width, "height": height,
                                                                              "pixelRatio": 1.0, "touch": True}})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER, log_output=str(tmp_path / f"chromedriver-{profile}.log")),
                              options=options)
    driver.set_page_load_timeout(WAIT)
    return driver


def full_page(driver, path: Path) -> Path:
    """A screenshot of the whole page, not only what the window shows (a phone's long pages):
    the window is made as tall as the page for the shot, then put back."""
    width, height = driver.execute_script("return [window.innerWidth, window.innerHeight]")
    mobile = driver.execute_script("return navigator.maxTouchPoints > 0")
    full = driver.execute_script("return document.documentElement.scrollHeight")
    metrics = {"width": width, "deviceScaleFactor": 1, "mobile": bool(mobile)}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**metrics, "height": max(full, height)})
    try:
        driver.save_screenshot(str(path))
    finally:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**metrics, "height": height})
    return path
