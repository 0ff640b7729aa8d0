"""What the browser scripts share: a headless Chromium (Debian's chromium and
chromium-driver, driven by Debian's python3-selenium) run through one scenario, with a
screenshot and the page's address on failure, and the checks they make."""
import os
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait


def run_in_browser(scenario, shots, failure_name, *arguments):
    """Runs `scenario(browser, *arguments)` in a new headless Chromium; on failure saves
    `failure_name` in `shots` and says where it failed."""
    os.makedirs(shots, exist_ok=True)
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900"):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    browser.set_page_load_timeout(30)
    browser.implicitly_wait(5)  # a click's navigation may still be under way
    try:
        scenario(browser, *arguments)
    except Exception:
        browser.save_screenshot(os.path.join(shots, failure_name))
        print("failed on", browser.current_url, file=sys.stderr)
        raise
    finally:
        browser.quit()


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def wait_for_url(browser, ending):
    WebDriverWait(browser, 10).until(lambda b: b.current_url.split("#")[0].split("?")[0].endswith(ending))


def text_of(browser, element_id):
    """The element's text, or "" while the page is being replaced."""
    try:
        return browser.find_element("id", element_id).text
    except Exception:
        return ""


def wait_for_text(browser, element_id, predicate, seconds=30):
    """Waits until the text of `element_id` satisfies `predicate` (a form that posts back to
    the same address gives no new URL to wait for)."""
    WebDriverWait(browser, seconds).until(lambda b: predicate(text_of(b, element_id)))
