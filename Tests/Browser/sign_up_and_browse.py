#!/usr/bin/python3
"""A real headless Chromium (Debian's chromium and chromium-driver, driven by Debian's
python3-selenium) signs up, creates a repository, views its file tree, a file, a commit
and its traffic, and publishes a download, saving a screenshot of each page.

    sign_up_and_browse.py GATEWAY_URL SCREENSHOT_FOLDER
"""
import os
import sys
import time

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from browser import check, run_in_browser, wait_for_url


def listing_text(browser):
    """The downloads list's text, or "" while the page is being replaced."""
    try:
        return browser.find_element(By.ID, "downloads").text
    except Exception:
        return ""


def run(browser, base, shots):
    user = "browser%d" % (int(time.time() * 1000) % 10_000_000)
    browser.get(base + "/signup")
    browser.find_element(By.NAME, "username").send_keys(user)
    browser.find_element(By.NAME, "email").send_keys(user + "@example.com")
    browser.find_element(By.NAME, "password").send_keys("a-long-password")
    browser.find_element(By.CSS_SELECTOR, "form[action='/signup'] button").click()
    check(browser.find_element(By.ID, "nav-profile").text == user, "signed in after sign-up")

    browser.get(base + "/new")
    browser.find_element(By.NAME, "name").send_keys("first-project")
    browser.find_element(By.NAME, "description").send_keys("Made by a browser")
    browser.find_element(By.CSS_SELECTOR, "form[action='/new'] button").click()
    wait_for_url(browser, "/%s/first-project" % user)
    check("first-project" in browser.find_element(By.ID, "readme").text, "README rendered")
    tree = browser.find_element(By.ID, "file-tree")
    browser.save_screenshot(os.path.join(shots, "repository-home.png"))

    tree.find_element(By.LINK_TEXT, "README.md").click()
    wait_for_url(browser, "/blob/main/README.md")
    check(browser.find_element(By.CSS_SELECTOR, ".readme h1").text == "first-project", "Markdown file rendered")
    browser.find_element(By.LINK_TEXT, "Source").click()
    check(browser.find_element(By.ID, "L1").text.endswith("# first-project"), "line 1 shown")
    browser.get(browser.current_url.split("#")[0] + "#L1-L3")
    time.sleep(0.3)
    check("selected" in browser.find_element(By.ID, "L2").get_attribute("class"), "line range highlighted")
    browser.save_screenshot(os.path.join(shots, "file.png"))

    browser.find_element(By.LINK_TEXT, "Commits").click()
    browser.find_element(By.CSS_SELECTOR, "#commits a.summary").click()
    check(browser.find_element(By.ID, "commit-summary").text == "Initial commit", "commit page")
    check(browser.find_elements(By.CSS_SELECTOR, "tr.add"), "added lines marked")
    check(browser.find_elements(By.CSS_SELECTOR, "tr.add td.ln a[id='diff-0-R1']"), "added lines numbered")
    check(browser.find_elements(By.CSS_SELECTOR, "tr.add td.src span"), "diff highlighted (Markdown)")
    browser.save_screenshot(os.path.join(shots, "commit.png"))

    browser.get(base + "/%s/first-project/blame/main/README.md" % user)
    first = browser.find_element(By.CSS_SELECTOR, "#blame tr.first td.commit")
    check("Initial commit" in first.text, "blame names the commit: " + first.text)
    browser.save_screenshot(os.path.join(shots, "blame.png"))
    browser.back()

    # The pages just seen come back, through cairn-stream, on the Traffic tab.
    browser.find_element(By.LINK_TEXT, "Traffic").click()
    for _ in range(50):
        heading = browser.find_element(By.CSS_SELECTOR, "#views h2").text
        if not heading.startswith("Views 0 total"):
            break
        time.sleep(0.2)
        browser.refresh()
    check(not heading.startswith("Views 0 total"), "views counted on the Traffic page: " + heading)
    check(browser.find_elements(By.CSS_SELECTOR, "#views svg.chart rect.count"), "views chart drawn")
    check("/%s/first-project" % user in browser.find_element(By.ID, "popular-paths").text, "popular paths listed")
    browser.save_screenshot(os.path.join(shots, "traffic.png"))

    # A file published on the Downloads tab through the upload form.
    browser.find_element(By.LINK_TEXT, "Downloads").click()
    upload = os.path.join(shots, "release-notes.txt")
    with open(upload, "w") as handle:
        handle.write("First release.\n" * 100)
    browser.find_element(By.ID, "upload-file").send_keys(upload)
    browser.find_element(By.ID, "upload").click()
    # The form posts to the page it is on, so wait for the new page's list, not the URL.
    WebDriverWait(browser, 15).until(lambda b: "release-notes.txt" in listing_text(b))
    listed = listing_text(browser)
    check("release-notes.txt" in listed and "1.5 KB" in listed, "download listed: " + listed)
    browser.save_screenshot(os.path.join(shots, "downloads.png"))

    browser.set_window_size(390, 844)
    browser.get(base + "/%s/first-project" % user)
    check(browser.find_element(By.ID, "clone-url").is_displayed(), "clone box on a phone")
    browser.save_screenshot(os.path.join(shots, "repository-home-phone.png"))
    print("browser test passed; screenshots in", shots)


if __name__ == "__main__":
    run_in_browser(run, sys.argv[2], "failure.png", sys.argv[1], sys.argv[2])
