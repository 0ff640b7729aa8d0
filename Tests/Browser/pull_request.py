#!/usr/bin/python3
"""A real headless Chromium opens a pull request through the pages, comments on it, reads
its commits and files, comments on a line, and merges it.

    pull_request.py GATEWAY_URL SCREENSHOT_FOLDER USER PASSWORD OWNER/REPO HEAD_BRANCH
"""
import os
import sys

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from browser import check, run_in_browser, wait_for_text, wait_for_url


def run(browser, base, shots, user, password, repository, head):
    browser.get(base + "/login")
    browser.find_element(By.NAME, "login").send_keys(user)
    browser.find_element(By.NAME, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "form[action='/login'] button").click()
    check(browser.find_element(By.ID, "nav-profile").text == user, "signed in")

    browser.get(base + "/" + repository)
    browser.find_element(By.ID, "pulls-tab").click()
    wait_for_url(browser, "/" + repository + "/pulls")
    browser.find_element(By.ID, "new-pull").click()
    browser.find_element(By.NAME, "head").send_keys(head)
    browser.find_element(By.CSS_SELECTOR, "form.compare button").click()
    check(browser.find_elements(By.CSS_SELECTOR, "#compare-commits li"), "the branch's commits listed before opening")
    browser.find_element(By.NAME, "title").send_keys("Browser <b>change</b>")
    browser.find_element(By.NAME, "body").send_keys("Made in a **browser**.")
    browser.find_element(By.ID, "create-pull").click()
    wait_for_url(browser, "/" + repository + "/pull/1")
    check(browser.find_element(By.ID, "pull-title").text.startswith("Browser <b>change</b>"), "title shown as text, escaped")
    check(browser.find_element(By.ID, "pull-state").text == "Open", "open")
    check(browser.find_element(By.CSS_SELECTOR, "#pull-body strong").text == "browser", "description rendered from Markdown")
    check(browser.find_elements(By.ID, "mergeable"), "mergeable shown")
    browser.save_screenshot(os.path.join(shots, "pull-conversation.png"))

    browser.find_element(By.CSS_SELECTOR, "#comment-form textarea").send_keys("A comment <script>alert(1)</script>")
    browser.find_element(By.ID, "add-comment").click()

    def comment_shown(b):
        try:
            return any("A comment" in c.text for c in b.find_elements(By.CSS_SELECTOR, "div.comment[id^='comment-']"))
        except Exception:
            return False
    WebDriverWait(browser, 30).until(comment_shown)
    check(not browser.find_elements(By.CSS_SELECTOR, "div.comment script"), "no script from a comment")

    browser.find_element(By.ID, "tab-commits").click()
    check(browser.find_elements(By.CSS_SELECTOR, "#pull-commits li"), "commits tab lists commits")
    browser.find_element(By.ID, "tab-files").click()
    check(browser.find_elements(By.CSS_SELECTOR, "tr.add td.ln a[id='diff-0-R1']"), "files tab numbers the added lines")
    path = browser.find_element(By.CSS_SELECTOR, ".diff-head strong").text
    browser.find_element(By.CSS_SELECTOR, "#inline-form input[name='path']").send_keys(path)
    browser.find_element(By.CSS_SELECTOR, "#inline-form input[name='line']").send_keys("1")
    browser.find_element(By.CSS_SELECTOR, "#inline-form textarea").send_keys("On the first line")
    browser.find_element(By.ID, "add-inline").click()

    def inline_shown(b):
        try:
            return any("On the first line" in c.text for c in b.find_elements(By.CSS_SELECTOR, "div.comment[id^='comment-']"))
        except Exception:
            return False  # the page was being replaced
    WebDriverWait(browser, 30).until(inline_shown)
    browser.save_screenshot(os.path.join(shots, "pull-files.png"))

    browser.find_element(By.ID, "tab-conversation").click()
    Select(browser.find_element(By.ID, "merge-method")).select_by_value("squash")
    browser.find_element(By.ID, "delete-branch").click()
    browser.find_element(By.ID, "merge").click()
    wait_for_text(browser, "pull-state", lambda text: text == "Merged")
    browser.save_screenshot(os.path.join(shots, "pull-merged.png"))


if __name__ == "__main__":
    base, shots, user, password, repository, head = sys.argv[1:7]
    run_in_browser(run, shots, "pull-failure.png", base, shots, user, password, repository, head)
