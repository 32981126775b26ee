"""The dashboard in a real headless browser (Debian's Chromium driven by Playwright).

Run by ``make test-browser``, which installs both."""

import os
import shutil

import pytest

pytestmark = pytest.mark.browser

sync_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("starlette")

from lowfi.dashboard import DashboardServer  # noqa: E402

CHROMIUM = os.environ.get("LOWFI_CHROMIUM") or shutil.which("chromium") or shutil.which(
    "chromium-browser")


@pytest.fixture
def browser():
    if CHROMIUM is None:
        pytest.fail("no chromium on PATH; `make test-browser` installs Debian's package")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


def _page(browser, url):
    page = browser.new_page(viewport={"width": 1300, "height": 1500})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    return page, errors


def test_dashboard_shows_a_finished_run(tmp_path, make_run, browser):
    db = tmp_path / "mlp.db"
    res = make_run(db, 30)
    st = res.trials["status"].astype(str)
    n_done = int(st.isin(["ok", "stopped", "failed"]).sum())
    with DashboardServer([db]) as srv:
        page, errors = _page(browser, srv.url)
        # the trials table holds every trial, and the incumbent chart has drawn them
        page.wait_for_selector(f'[data-testid=trials][data-rows="{len(res.trials)}"]',
                               timeout=30_000)
        page.wait_for_selector(f'[data-testid=incumbent-chart][data-points="{n_done}"] canvas',
                               timeout=30_000)
        page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
        assert (tmp_path / "dashboard.png").stat().st_size > 10_000
        panel = page.locator("[data-testid=panel-0]")
        summary = panel.locator("[data-testid=summary]").inner_text()
        assert f"{len(res.trials)} trials" in summary and "stopped: max_evaluations" in summary
        rows = panel.locator("[data-testid=trials] tbody tr")
        assert rows.count() == len(res.trials)
        for s in ("stopped", "failed"):
            assert panel.locator(f'[data-testid=trials] tbody tr[data-status="{s}"]').count() \
                == int((st == s).sum()) > 0
        # the canvas is not blank: the chart drew pixels
        drawn = page.evaluate("""() => {
            const c = document.querySelector('[data-testid=incumbent-chart] canvas');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
            return n; }""")
        assert drawn > 500
        # failures come with their tracebacks
        fails = panel.locator("[data-testid=failures] details")
        assert fails.count() == int((st == "failed").sum())
        assert "diverged with dropout" in fails.first.inner_text()
        assert "Traceback" in fails.first.locator("pre").text_content()
        # rungs: one row per budget level, their trials adding up
        rung_rows = panel.locator("[data-testid=rungs] tbody tr")
        assert rung_rows.count() == res.trials["budget"].nunique()
        # sorting by loss puts the best trial first
        panel.locator("[data-testid=trials] th", has_text="loss").click()
        first = panel.locator("[data-testid=trials] tbody tr").first.inner_text()
        assert first.split("\t")[0] == str(int(res.trials.loc[
            res.trials["loss"].astype(float).idxmin(), "trial_id"]))
        assert not errors, errors


def test_dashboard_follows_a_growing_journal_without_reload(tmp_path, make_run, browser):
    make_run(tmp_path / "a.db", 6)
    make_run(tmp_path / "b.db", 4)
    with DashboardServer([tmp_path]) as srv:
        page, errors = _page(browser, srv.url)
        page.wait_for_selector('[data-testid=panel-0] [data-testid=trials][data-rows="6"]',
                               timeout=30_000)
        # both runs, side by side
        page.wait_for_selector('[data-testid=panel-1] [data-testid=trials][data-rows="4"]',
                               timeout=30_000)
        boxes = [page.locator(s).bounding_box() for s in ("[data-testid=panel-0]",
                                                         "[data-testid=panel-1]")]
        assert abs(boxes[0]["y"] - boxes[1]["y"]) < 1 and boxes[0]["x"] < boxes[1]["x"]
        page.evaluate("() => { window.__sameDocument = true; }")
        make_run(tmp_path / "a.db", 18, resume=True)  # the run goes on while the page is open
        page.wait_for_selector('[data-testid=panel-0] [data-testid=trials][data-rows="18"]',
                               timeout=30_000)
        assert page.evaluate("() => window.__sameDocument === true")  # no reload
        assert page.locator("#runs tbody tr").count() == 2
        assert not errors, errors


def test_report_trials_table_sorts_in_the_browser(tmp_path, make_run, browser):
    from lowfi.analysis.report import report

    res = make_run(tmp_path / "r.db", 20)
    md = report(tmp_path / "r.db", out=tmp_path / "rep")
    page, errors = _page(browser, md.with_suffix(".html").as_uri())
    table = page.locator("table.sortable").last
    assert table.locator("tbody tr").count() == len(res.trials)
    loss_col = [t.strip() for t in table.locator("thead th").all_inner_texts()].index("loss")
    table.locator("thead th").nth(loss_col).click()

    def column():
        return [c for c in table.locator(f"tbody tr td:nth-child({loss_col + 1})")
                .all_inner_texts() if c.strip()]

    values = [float(v) for v in column()]
    assert values == sorted(values) and len(values) == res.trials["loss"].notna().sum()
    table.locator("thead th").nth(loss_col).click()  # again: descending
    values = [float(v) for v in column()]
    assert values == sorted(values, reverse=True)
    assert not errors, errors
