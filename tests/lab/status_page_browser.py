#!/usr/bin/python3
"""The status page in a real browser, for status_page_test.sh.

Headless chromium (driven by selenium through chromedriver) watches the
status pages of two directors, d1 (VRRP master) and d2 (backup), while the
caller's commands take a real down, add one, and stop d1's xlbd. Checked as an
operator would see it: the page fills in and refreshes itself (without
reloading), shows rates, loads nothing from elsewhere, fits a phone's
width; the real shows down within 2 s of the health change (when
/status.json first says so), the added real appears (the page reloads for
it), d2 shows itself master within 2 s of its
state change, and d1's page says it is not updating any more.

Every wait is a condition with a deadline. The browser is stopped and its
profile directory removed on exit, also on failure or SIGTERM.
Prints one "ok: ..." or "FAIL: ..." line per check; exit status 1 if any
failed. Usage:
  status_page_browser.py --backup URL --master URL --real ADDR:PORT \
      --real-down-cmd CMD --added-real ADDR:PORT --real-add-cmd CMD \
      --master-stop-cmd CMD --profile-root DIR [--screenshots DIR]
"""
import argparse
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

FAILURES = 0


def check(what, ok, detail=""):
    global FAILURES
    print(f"{'ok' if ok else 'FAIL'}: {what}{f' ({detail})' if detail else ''}", flush=True)
    if not ok:
        FAILURES += 1
    return ok


def wait_page(driver, seconds, condition):
    """True once condition(driver) is truthy, polled every 50 ms; False at the deadline."""
    try:
        WebDriverWait(driver, seconds, poll_frequency=0.05).until(condition)
        return True
    except TimeoutException:
        return False


def fetch(url, method="GET"):
    """(status, body) of one request; status 0 when nothing answered."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=2) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return 0, ""


def wait_json(url, seconds, condition):
    """The monotonic time at which /status.json first met condition, or None."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status, body = fetch(url + "status.json")
        if status == 200 and condition(json.loads(body)):
            return time.monotonic()
        time.sleep(0.05)
    return None


# What the page shows, read from the DOM as rendered.
REAL_ROW = """
  const [address, port] = arguments;
  for (const tr of document.querySelectorAll("tr.real"))
    if (tr.querySelector("[data-p$='/address']").textContent === address &&
        tr.querySelector("[data-p$='/port']").textContent === port)
      return {health: tr.querySelector(".health").textContent, row: tr.dataset.v};
  return null;"""
VRRP_ROW = """
  const tr = document.querySelector("tr.vrrp");
  return tr && {state: tr.querySelector(".state").textContent,
                master: tr.querySelector(".master").textContent, row: tr.dataset.v};"""


def real_shows(driver, real, health):
    row = driver.execute_script(REAL_ROW, *real.rsplit(":", 1))
    return row is not None and row["health"] == health and row["row"] == health


def vrrp_shows(driver, state, master):
    row = driver.execute_script(VRRP_ROW)
    return row is not None and row["state"] == state and row["row"] == state and \
        row["master"] == master


def live(driver):
    return driver.execute_script(
        "const e = document.getElementById('live'); return e && e.dataset.v") == "live"


def fits_width(driver):
    return driver.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth")


def screenshot(driver, args, name):
    """With --screenshots DIR: the whole page as DIR/NAME.png, to look at."""
    if args.screenshots:
        height = driver.execute_script("return document.documentElement.scrollHeight")
        width = driver.get_window_size()["width"]
        driver.set_window_size(width, height + 100)
        driver.save_screenshot(f"{args.screenshots}/{name}.png")


def scenario(driver, args):
    backup, master = args.backup, args.master
    backup_addr = backup.split("//")[1].split(":")[0]
    master_addr = master.split("//")[1].split(":")[0]

    # The listener is read-only, and the page reads without JavaScript.
    check("POST / is refused with 405", fetch(backup, "POST")[0] == 405)
    check("an unknown path is 404", fetch(backup + "nope")[0] == 404)
    status, html = fetch(backup)
    check("GET / renders the services and VRRP without JavaScript",
          status == 200 and 'class="real"' in html and 'class="vrrp"' in html and
          '<noscript><meta http-equiv="refresh"' in html)

    driver.get(backup)
    driver.execute_script("window.xlbNotReloaded = true")
    check("the page fetches /status.json and says it is live",
          wait_page(driver, 5, live))
    check("the real is up on the page",
          wait_page(driver, 10, lambda d: real_shows(d, args.real, "up")))
    check(f"d2's page shows BACKUP, master {master_addr}",
          wait_page(driver, 10, lambda d: vrrp_shows(d, "BACKUP", master_addr)))
    check("rates appear after two samples", wait_page(driver, 5, lambda d: d.execute_script(
        "return [...document.querySelectorAll('.rate')].some(e => /^[0-9]/.test(e.textContent))")))
    resources = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)")
    origin = backup.rstrip("/")
    outside = [r for r in resources if not r.startswith(origin + "/")]
    check("the page loaded nothing from elsewhere", not outside and resources,
          str(outside or resources))
    check("the page fits a phone's width (390 px)", fits_width(driver))
    screenshot(driver, args, "phone")
    driver.set_window_size(1280, 900)
    check("and a desktop's (1280 px)", wait_page(driver, 2, fits_width))
    screenshot(driver, args, "desktop")

    # d1's page, in a second tab, for when d1 goes.
    d2_tab = driver.current_window_handle
    driver.switch_to.new_window("tab")
    driver.get(master)
    check(f"d1's page shows MASTER, master {master_addr}",
          wait_page(driver, 10, lambda d: live(d) and vrrp_shows(d, "MASTER", master_addr)))
    driver.switch_to.window(d2_tab)

    # A real goes down: the page shows it within 2 s of the health change.
    subprocess.run(args.real_down_cmd, shell=True, check=True)
    changed = wait_json(backup, 15, lambda doc: any(
        f"{r['address']}:{r['port']}" == args.real and r["health"] == "down"
        for s in doc["services"] for r in s["reals"]))
    if check("the real's health changes to down (status.json)", changed is not None):
        shown = wait_page(driver, 2, lambda d: real_shows(d, args.real, "down"))
        check("the page shows the real down within 2 s of the change", shown,
              f"{(time.monotonic() - changed) * 1000:.0f} ms")

    # A real added at runtime: the page, written for three, reloads itself
    # and shows the fourth.
    subprocess.run(args.real_add_cmd, shell=True, check=True)
    check(f"a real added with xlbctl ({args.added_real}) appears on the page within 3 s",
          wait_page(driver, 3,
                    lambda d: d.execute_script(REAL_ROW, *args.added_real.rsplit(":", 1))))
    driver.execute_script("window.xlbNotReloaded = true")

    # The VIP moves: d1's xlbd stops, d2 becomes master.
    subprocess.run(args.master_stop_cmd, shell=True, check=True)
    changed = wait_json(backup, 10, lambda doc: doc["vrrp"][0]["state"] == "MASTER")
    if check("d2 becomes master (status.json)", changed is not None):
        shown = wait_page(driver, 2, lambda d: vrrp_shows(d, "MASTER", backup_addr))
        check(f"d2's page shows MASTER, master {backup_addr}, within 2 s of the change", shown,
              f"{(time.monotonic() - changed) * 1000:.0f} ms")
    screenshot(driver, args, "after")
    check("d2's page updated itself (never reloaded)",
          driver.execute_script("return window.xlbNotReloaded === true"))
    driver.switch_to.new_window("tab")  # switch_to.window makes d1's tab visible again
    driver.close()
    for handle in driver.window_handles:
        if handle != d2_tab:
            driver.switch_to.window(handle)
    check("d1's page says it is not updating", wait_page(driver, 10, lambda d: d.execute_script(
        "const e = document.getElementById('live');"
        "return e.dataset.v === 'stale' && e.textContent.startsWith('NOT UPDATING')")))


def main():
    parser = argparse.ArgumentParser()
    for flag in ("--backup", "--master", "--real", "--real-down-cmd", "--added-real",
                 "--real-add-cmd", "--master-stop-cmd", "--profile-root"):
        parser.add_argument(flag, required=True)
    parser.add_argument("--screenshots", help="a directory for screenshots of the page")
    args = parser.parse_args()
    # SIGTERM (the test's cleanup) unwinds through the finally below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    profile = tempfile.mkdtemp(prefix="chromium-profile.", dir=args.profile_root)
    driver = None
    try:
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--no-first-run", "--disable-extensions", f"--user-data-dir={profile}",
                     "--window-size=390,844"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        driver.set_page_load_timeout(10)
        driver.set_script_timeout(5)
        scenario(driver, args)
    except Exception as e:  # the scenario stopped: a failure, said as one
        first_line = str(e).strip().splitlines()[0] if str(e).strip() else ""
        check("the browser scenario ran to its end", False, f"{type(e).__name__}: {first_line}")
    finally:
        if driver is not None:
            driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
