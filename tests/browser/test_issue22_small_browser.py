"""Issue 22, bug 3 and the smaller items of bug 7, in a real browser on the real default model
(small runs: a few queries, one or two seeds, few k values).

* The k-curve summary on the Sensitivity page says only what the plotted numbers support: "every k
  from k = s on within 2 points of the best" holds for every larger k, a fall of more than 2 points
  as k grows is named ("not monotone"), and the best accuracy comes with its Wilson interval for
  the number of queries (it used to say "within 2 points of it from k = 1 on" while k = 4 was 47
  points lower).
"""

from __future__ import annotations

import re

from tests.browser.conftest import no_exception, set_number, wait_for, wait_idle

SUCCESS = '[data-testid="stAlertContentSuccess"]'


def _open(page, server: str, path: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(server + path)
    wait_idle(page)
    no_exception(page)


def _choose(page, label: str, option: str) -> None:  # type: ignore[no-untyped-def]
    """Picks `option` in the selectbox labelled `label`."""
    page.get_by_label(label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_idle(page)
    no_exception(page)


def _keep_ks(page, keep: list[int]) -> None:  # type: ignore[no-untyped-def]
    """Leaves only `keep` chosen in the "k values" multiselect (each chip's Remove button)."""
    widget = page.locator('[data-testid="stMultiSelect"]').filter(has_text="k values")

    def chips() -> list[int]:
        return [int(str(c.get_attribute("aria-label"))) for c in widget.locator("[data-tag]").all()]

    for _ in range(20):  # one chip at a time: each removal reruns the script
        extra = [k for k in chips() if k not in keep]
        if not extra:
            break
        widget.locator(f'[data-tag][aria-label="{extra[-1]}"] button').click(force=True)
        page.wait_for_timeout(300)
        wait_idle(page)
        page.locator("h1").first.click()  # closes the menu the removal opened (it takes the next click)
    assert chips() == keep, chips()


def test_kcurve_summary_matches_the_curve(page, server) -> None:  # type: ignore[no-untyped-def]
    _open(page, server, "/sensitivity")
    _choose(page, "Experiment", "k-curve")
    set_number(page, "Test queries", 6)
    _keep_ks(page, [0, 1, 2, 4])
    set_number(page, "Seeds per k (N)", 2)
    page.get_by_role("button", name="Run the experiment", exact=True).click()
    wait_for(page, page.locator(SUCCESS).filter(has_text="at k=0"))
    summary = page.locator(SUCCESS).filter(has_text="at k=0").first.inner_text()

    acc = {int(k): float(a) for a, k in re.findall(r"(\d+\.\d)% at k=(\d+)", summary)}
    assert sorted(acc) == [0, 1, 2, 4], summary
    best = max(acc.values())
    m = re.search(
        r"best (\d+\.\d)% at k=(\d+) \(95% Wilson interval over 6 queries: (\d+\.\d)%–(\d+\.\d)%\)", summary
    )
    assert m, summary
    assert float(m.group(1)) == best and acc[int(m.group(2))] == best
    assert float(m.group(3)) <= best <= float(m.group(4))
    plateau = re.search(r"every k from k=(\d+) on within 2 points of it", summary)
    if plateau:  # every k from there on, not just the first, is within 2 points of the best
        assert all(a >= best - 2 - 1e-6 for k, a in acc.items() if k >= int(plateau.group(1))), summary
    ks = sorted(acc)
    falls = [(acc[i] - acc[j], i, j) for n, i in enumerate(ks) for j in ks[n + 1 :]]
    fall = max(falls)[0]  # from the rounded percentages: within 0.1 point of the engine's
    named = re.search(r"not monotone: k=(\d+) is (\d+\.\d) points below k=(\d+)", summary)
    if fall > 2.2:
        assert named, summary
    if named:
        j, said, i = int(named.group(1)), float(named.group(2)), int(named.group(3))
        assert i < j and abs(said - (acc[i] - acc[j])) < 0.15 and abs(said - fall) < 0.15, summary
    elif fall < 1.8:
        assert "not monotone" not in summary, summary
    assert "within noise of the best" in summary or "beyond noise" in summary, summary


def test_ranking_tau_axis_ticks_are_readable(page, server) -> None:  # type: ignore[no-untyped-def]
    """(7a) the log tau axis used to read "5 0.1 2 5 1 2 5 10 2" (plotly's minor digits)."""
    _open(page, server, "/ranking")
    page.get_by_role("button", name="Score the responses", exact=True).click()
    charts = page.locator('[data-testid="stPlotlyChart"]')
    curve = charts.filter(has=page.locator(".xtitle", has_text="τ"))
    wait_for(page, curve)
    labels = [s.strip() for s in curve.first.locator(".xtick text").all_text_contents()]
    values = [float(s) for s in labels]
    assert values == sorted(values) and len(set(values)) == len(values), labels
    assert values[0] <= 0.1 and values[-1] >= 10, labels


def test_demo_selection_has_no_seed_of_its_own(page, server) -> None:  # type: ignore[no-untyped-def]
    """(7d) Demo Selection had its own Seed beside the sidebar's: the sidebar's is the only one."""
    _open(page, server, "/demo_selection")
    page.get_by_role("button", name="Select demonstrations", exact=True).wait_for()
    assert page.get_by_label("Seed", exact=True).count() == 1
    main = page.locator('[data-testid="stMain"]')
    assert main.get_by_label("Seed", exact=True).count() == 0
    assert page.locator('[data-testid="stSidebar"]').get_by_label("Seed", exact=True).count() == 1
