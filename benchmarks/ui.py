"""Web UI performance in headless chromium against the real API at 100,000 resources.

Publishes the grid snapshot of N resources (what the projector publishes and a cold API loads; the table
items are not written unless --with-items, as the grid never reads them), starts the API process serving
the built UI, and measures with Debian's chromium:

- time to first rows: navigation start to the first grid row in the DOM (performance.now() in the page),
  on the cold API process (its first request loads the snapshot) and then warm (median of RUNS);
- the same with the page size raised to every resource (the whole estate in one virtualised page, fetched
  in API pages of 5,000 rows), and until every row is in the page;
- filter-to-rows: a type checkbox clicked until the new rows are painted (median and p95 over 16 changes);
- search-to-rows after the 300 ms debounce (median and p95 over 10 terms);
  both split into the API request (Resource Timing: request start to response end) and the rest (browser);
- scroll at 10,000 and 100,000 rows in one page, 240 px a frame (a wheel) and 2,000 px a frame (a fling):
  frame times, chromium's CPU per frame (every chromium process, from /proc: less load-dependent than wall
  time on a shared machine), and the most row elements the DOM held;
- the JS and CSS bundle size, gzip.

Run: ``make bench-ui`` (or ``.venv/bin/python benchmarks/ui.py [--resources N] [--runs N]``).
Writes benchmarks/results/ui.json. Figures depend on the machine's load: compare within one run.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' harness

from playwright.sync_api import Browser, sync_playwright

from tests.browser.harness import (
    BULK_TYPES,
    DIST,
    SCROLL_FRAMES_JS,
    UiStack,
    chromium_path,
    frame_stats,
    ui_build_problem,
    ui_stack,
)

RESULTS = Path(__file__).parent / "results" / "ui.json"
TARGETS = {"first_rows_ms": 1000, "filter_after_debounce_ms": 300, "bundle_gzip_kb": 300}

FIRST_ROWS_PROBE = """
new MutationObserver((_, observer) => {
  if (document.querySelector('[role=row][data-index]')) {
    window.__firstRowsAt = performance.now();
    observer.disconnect();
  }
}).observe(document, { childList: true, subtree: true });
"""

# Change something, then wait until the page has asked the API, shown the answer and painted it.
CHANGE_JS = """async ([kind, value]) => {
  const pageEl = document.querySelector('.inventory-page');
  const settled = new Promise((resolve) => {
    let seenLoading = false;
    new MutationObserver((_, observer) => {
      if (pageEl.dataset.loading === 'true') seenLoading = true;
      if (seenLoading && pageEl.dataset.loading === 'false') {
        observer.disconnect();
        requestAnimationFrame(() => resolve(performance.now()));
      }
    }).observe(pageEl, { attributes: true, attributeFilter: ['data-loading'] });
  });
  let started;
  if (kind === 'type') {
    const label = [...document.querySelectorAll('details[data-filter=type] label')]
      .find((l) => l.textContent.trim() === value);
    started = performance.now();
    label.querySelector('input').click();
  } else {
    const box = document.querySelector('input[type=search]');
    const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
    setter.call(box, value);
    started = performance.now();
    box.dispatchEvent(new Event('input', { bubbles: true }));
  }
  const done = await settled;
  const request = performance.getEntriesByType('resource')
    .filter((e) => e.name.includes('/api/inventory/resources?') && e.startTime >= started).pop();
  return { total: done - started, api: request ? request.responseEnd - request.requestStart : null };
}"""


def chromium_pids(root: int) -> list[int]:
    """The chromium processes below root (browser, renderers, GPU, utilities; not the API or moto)."""
    parents: dict[int, int] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                names[int(entry.name)] = (entry / "comm").read_text()
            except (OSError, ValueError, IndexError):
                continue

    def below_root(pid: int) -> bool:
        while pid > 1:
            pid = parents.get(pid, 0)
            if pid == root:
                return True
        return False

    return [pid for pid, name in names.items() if name.startswith("chrom") and below_root(pid)]


def cpu_ms(pids: list[int]) -> float:
    """User + system CPU of the processes so far, in ms (clock ticks of /proc/<pid>/stat)."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
        except (OSError, ValueError, IndexError):
            continue
    return ticks * 1000 / os.sysconf("SC_CLK_TCK")


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * p))], 1)


def summary(samples: list[float]) -> dict[str, float]:
    return {"n": len(samples), "median_ms": round(statistics.median(samples), 1), "p95_ms": pct(samples, 0.95)}


def split(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Change-to-rows figures, and how much of it was the API request and how much the browser."""
    api = [x["api"] for x in samples if x["api"] is not None]
    rest = [x["total"] - x["api"] for x in samples if x["api"] is not None]
    return {**summary([x["total"] for x in samples]), "api_request": summary(api), "browser_rest": summary(rest)}


def bundle_sizes() -> dict[str, float]:
    sizes = {"js_bytes": 0, "js_gzip_bytes": 0, "css_gzip_bytes": 0}
    for path in (DIST / "assets").iterdir():
        data = path.read_bytes()
        packed = len(gzip.compress(data, compresslevel=9))
        if path.suffix == ".js":
            sizes["js_bytes"] += len(data)
            sizes["js_gzip_bytes"] += packed
        elif path.suffix == ".css":
            sizes["css_gzip_bytes"] += packed
    return {**sizes, "js_gzip_kb": round(sizes["js_gzip_bytes"] / 1024, 1)}


def first_rows(browser: Browser, url: str, timeout_ms: float = 600_000, all_rows: int = 0) -> float:
    """Navigation start to the first row in the DOM; with all_rows, to every row in the page's data."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    try:
        page = context.new_page()
        page.add_init_script(FIRST_ROWS_PROBE)
        page.goto(url, timeout=timeout_ms)
        page.wait_for_function("() => window.__firstRowsAt !== undefined", timeout=timeout_ms)
        if all_rows:
            page.wait_for_function(
                """(n) => document.querySelector('[data-testid=grid]')?.getAttribute('aria-rowcount') === String(n + 1)
                     && document.querySelector('.inventory-page')?.dataset.loading === 'false'""",
                arg=all_rows,
                timeout=timeout_ms,
                polling=50,
            )
            return float(page.evaluate("performance.now()"))
        return float(page.evaluate("window.__firstRowsAt"))
    finally:
        context.close()


def measure(stack: UiStack, browser: Browser, n: int, runs: int) -> dict[str, Any]:
    report: dict[str, Any] = {}
    cold = first_rows(browser, stack.url("/"))
    print(f"first rows, cold API process (loads the snapshot of {n:,}): {cold:.0f} ms", flush=True)
    warm = [first_rows(browser, stack.url("/")) for _ in range(runs)]
    report["first_rows_default_page"] = {"cold_ms": round(cold, 1), "warm": summary(warm)}
    print(f"first rows, warm: {report['first_rows_default_page']['warm']}", flush=True)

    whole = [first_rows(browser, stack.url(f"/?pageSize={n}")) for _ in range(max(1, runs // 2))]
    every = [first_rows(browser, stack.url(f"/?pageSize={n}"), all_rows=n) for _ in range(max(1, runs // 2))]
    report["first_rows_whole_estate_page"] = {"page_size": n, **summary(whole), "all_rows_loaded": summary(every)}
    print(f"first rows with pageSize={n:,}: {report['first_rows_whole_estate_page']}", flush=True)

    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.goto(stack.url("/"))
    page.wait_for_selector("[role=row][data-index]")
    page.wait_for_selector(".inventory-page[data-loading=false]")
    page.locator("details[data-filter=type] summary").click()
    filters = []
    for rtype in BULK_TYPES:
        filters.append(page.evaluate(CHANGE_JS, ["type", rtype]))  # on
        filters.append(page.evaluate(CHANGE_JS, ["type", rtype]))  # off again
    report["filter_to_rows"] = split(filters)
    print(f"filter to rows: {report['filter_to_rows']}", flush=True)
    page.keyboard.press("Escape")
    searches = [page.evaluate(CHANGE_JS, ["search", f"-{i:03d}"]) for i in range(10, 20)]
    for each in searches:
        each["total"] -= 300  # the debounce
    report["search_to_rows_after_debounce"] = split(searches)
    print(f"search to rows after the 300 ms debounce: {report['search_to_rows_after_debounce']}", flush=True)
    context.close()

    report["scroll"] = []
    for rows in sorted({min(10_000, n), n}):
        context = browser.new_context(viewport={"width": 1280, "height": 860})
        page = context.new_page()
        page.goto(stack.url(f"/?pageSize={rows}"), timeout=600_000)
        page.wait_for_selector(".inventory-page[data-loading=false] [role=row][data-index]", timeout=600_000)
        chromium = chromium_pids(os.getpid())  # with this page's renderer
        for step in (240, 2000):
            page.evaluate("document.querySelector('[data-testid=grid]').scrollTop = 0")
            page.wait_for_timeout(300)
            before = cpu_ms(chromium)
            scroll = page.evaluate(SCROLL_FRAMES_JS, [240, step])
            per_frame = (cpu_ms(chromium) - before) / 240
            figure = {"rows": rows, "px_per_frame": step, "most_row_elements": scroll["most"]}
            figure |= frame_stats(scroll["times"]) | {"chromium_cpu_ms_per_frame": round(per_frame, 1)}
            figure["load_avg_1m"] = round(os.getloadavg()[0], 1)
            report["scroll"].append(figure)
            print(f"scroll: {figure}", flush=True)
        context.close()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resources", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--with-items", action="store_true", help="also write the table items (slow on moto)")
    args = parser.parse_args()
    problem = ui_build_problem()
    chromium = chromium_path()
    if problem or chromium is None:
        sys.exit(problem or "no chromium: make chromium")
    load_before = os.getloadavg()
    bundle = bundle_sizes()
    print(f"bundle: {bundle}", flush=True)
    state = Path(tempfile.mkdtemp(prefix="bench-ui-"))
    started = time.monotonic()
    with ui_stack(state, bulk=args.resources, bulk_items=args.with_items) as stack:
        seeded = time.monotonic() - started
        print(f"stack up with {args.resources:,} resources in {seeded:.0f} s", flush=True)
        with urllib.request.urlopen(f"{stack.base_url}/healthz") as ok:
            assert ok.status == 200
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
            report = measure(stack, browser, args.resources, args.runs)
            browser.close()
    result = {
        "benchmark": "ui",
        "resources": args.resources,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "browser": "Debian chromium, headless, via Playwright",
            "load_avg_before": [round(x, 1) for x in load_before],
            "load_avg_after": [round(x, 1) for x in os.getloadavg()],
        },
        "api": "uvicorn process on 127.0.0.1 serving the built UI; grid snapshot on moto S3",
        "bundle": bundle,
        **report,
        "targets": TARGETS,
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
