"""The decision page of `nesy serve --ui` and the page of `nesy explain
--format html`, in a real browser: headless Chromium (Debian's `chromium` and
`chromium-driver`) driven by Selenium.

    NESY_BIN=target/debug/nesy python -m pytest -q tests/ui

Each test saves a screenshot into $NESY_UI_SHOTS (default
`target/ui-screenshots`), named after it, `-FAILED` added when it failed.
"""

import contextlib
import os
import pathlib
import socket
import subprocess
import time
import urllib.request

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

ROOT = pathlib.Path(__file__).resolve().parents[2]
NESY = os.environ.get("NESY_BIN", str(ROOT / "target" / "debug" / "nesy"))
SHOTS = pathlib.Path(os.environ.get("NESY_UI_SHOTS", ROOT / "target" / "ui-screenshots"))
TOKEN = "s3cret-ui"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = free_port()
    env = dict(os.environ, NESY_TOKEN=TOKEN)
    proc = subprocess.Popen(
        [NESY, "serve", "--rules", "rules/credit.nesy", "--addr", f"127.0.0.1:{port}", "--ui"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(base + "/health", timeout=1)
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode())
            time.sleep(0.1)
    yield base
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def browser(request):
    options = webdriver.ChromeOptions()
    for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1600"]:
        options.add_argument(arg)
    binary = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if os.path.exists(binary):
        options.binary_location = binary
    driver_path = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
    service = Service(driver_path) if os.path.exists(driver_path) else Service()
    driver = webdriver.Chrome(options=options, service=service)
    yield driver
    SHOTS.mkdir(parents=True, exist_ok=True)
    failed = getattr(request.node, "failed", False)
    driver.save_screenshot(str(SHOTS / f"{request.node.name}{'-FAILED' if failed else ''}.png"))
    driver.quit()


def wait_for(driver, condition, timeout=20):
    return WebDriverWait(driver, timeout).until(lambda d: condition(d))


def test_a_decision_runs_and_its_proof_expands(server, browser):
    browser.get(server + "/ui")
    # Without the token the page says what it needs.
    error = wait_for(browser, lambda d: d.find_element(By.ID, "error").text or None)
    assert "token" in error
    token = browser.find_element(By.ID, "token")
    token.send_keys(TOKEN)
    browser.execute_script("arguments[0].dispatchEvent(new Event('change'))", token)
    select = wait_for(browser, lambda d: len(Select(d.find_element(By.ID, "decision")).options) > 1 and Select(d.find_element(By.ID, "decision")))
    assert select.first_selected_option.get_attribute("value") == "decision"
    # The input is prefilled from the @decls.
    prefilled = browser.find_element(By.ID, "input").get_attribute("value")
    assert '"years_employed": 0' in prefilled, prefilled
    box = browser.find_element(By.ID, "input")
    box.clear()
    box.send_keys('{"applicant": [{"id": "z1", "income": 95000, "debt": 2000, "years_employed": 8}]}')
    browser.find_element(By.ID, "only-input").click()
    browser.find_element(By.ID, "run").click()
    rows = wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#results tr")) > 1 and d.find_elements(By.CSS_SELECTOR, "#results tr"))
    # Only the applicant of the input: one result, approved.
    assert [r.text for r in rows[1:]] == ['decision("z1", "approve") 1'], [r.text for r in rows]
    assert browser.find_element(By.ID, "summary").text.startswith("holds")
    tree = browser.find_element(By.ID, "explanations")
    assert "decision(z1" in tree.text
    # Deep steps start closed; opening one shows what it holds.
    closed = [
        d for d in tree.find_elements(By.CSS_SELECTOR, "details.step")
        if d.get_attribute("open") is None and d.is_displayed() and d.find_elements(By.CSS_SELECTOR, ":scope > .body > details.step")
    ]
    assert closed, "a proof this deep has closed steps with premises"
    step = closed[0]
    premise = step.find_element(By.CSS_SELECTOR, ":scope > .body > details.step > summary")
    assert not premise.is_displayed()
    step.find_element(By.TAG_NAME, "summary").click()
    wait_for(browser, lambda d: step.get_attribute("open") is not None)
    assert premise.is_displayed() and premise.text
    # The model call, its inputs and outputs, and its decision path.
    for details in tree.find_elements(By.CSS_SELECTOR, "details.step"):
        if details.get_attribute("open") is None:
            browser.execute_script("arguments[0].open = true", details)
    text = tree.text
    assert "model call" in text and "credit.predict(95000, 2000, 8)" in text, text
    assert "decision path" in text and "debt = 2000 < 12000" in text, text
    assert "rules/credit.nesy:" in text
    # The request as curl.
    browser.find_element(By.ID, "curl").click()
    curl = browser.find_element(By.ID, "curl-text").text
    assert curl.startswith("curl -s -X POST") and "/v1/decide/decision" in curl and '"only":"input"' in curl, curl
    assert "$NESY_TOKEN" in curl and TOKEN not in curl


def test_bad_input_is_shown_not_run(server, browser):
    browser.get(server + "/ui/")
    token = browser.find_element(By.ID, "token")
    token.send_keys(TOKEN)
    browser.execute_script("arguments[0].dispatchEvent(new Event('change'))", token)
    wait_for(browser, lambda d: len(Select(d.find_element(By.ID, "decision")).options) > 1)
    box = browser.find_element(By.ID, "input")
    box.clear()
    box.send_keys('{"applicant": [{"id": "z1", "salary": 1}]}')
    browser.find_element(By.ID, "run").click()
    error = wait_for(browser, lambda d: d.find_element(By.ID, "error").text or None)
    assert error.startswith("400") and "salary" in error, error
    box.clear()
    box.send_keys("{not json")
    browser.find_element(By.ID, "run").click()
    error = wait_for(browser, lambda d: "not JSON" in d.find_element(By.ID, "error").text and d.find_element(By.ID, "error").text)
    assert "the input is not JSON" in error


def test_explain_html_is_one_page_with_the_why_not(browser, tmp_path):
    page = tmp_path / "why.html"
    with open(page, "w") as out:
        subprocess.run([NESY, "explain", "rules/family.nesy", "ancestor(carol, alice)", "--format", "html"], cwd=ROOT, stdout=out, check=True)
    text = page.read_text()
    assert "<script src" not in text and "<link" not in text, "self-contained"
    browser.get(page.as_uri())
    tree = wait_for(browser, lambda d: d.find_element(By.ID, "explanations").text or None)
    assert "✗" in tree and "ancestor(carol, alice)" in tree and "does not hold" in tree, tree
    assert "rules that could derive it" in tree and "no fact matches" in tree, tree


def test_explain_html_draws_an_aggregate_and_its_rows(browser, tmp_path):
    page = tmp_path / "min.html"
    with open(page, "w") as out:
        subprocess.run([NESY, "explain", "rules/credit.nesy", "lowest_income(X)", "--format", "html"], cwd=ROOT, stdout=out, check=True)
    browser.get(page.as_uri())
    tree = wait_for(browser, lambda d: d.find_element(By.ID, "explanations").text or None)
    assert "lowest_income(18000)" in tree and "aggregate" in tree, tree
    assert "min over 5 rows = 18000" in tree, tree
    rows = browser.find_elements(By.CSS_SELECTOR, "table.aggregate-rows tr")
    assert [r.text for r in rows][:2] == ["18000 a2", "30500 a4"], [r.text for r in rows]
