"""Every leader page on a phone, a laptop and a projector: no text inside a chart collides with
other text or runs out of its chart, and nothing scrolls sideways.

One browser context per screen size visits the six pages in turn (one server for all)."""

from __future__ import annotations

import json

import pytest

from tests.browser.conftest import SHOTS, screenshot, wait_for_app

PHONE_AGENT = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
               "Chrome/131.0 Mobile Safari/537.36")
SIZES = {"phone": (390, 844), "laptop": (1440, 900), "projector": (1920, 1080)}
PAGES = {
    "overview": "/?year=2019",
    "unit": "/don-vi?unit=so-tai-nguyen-moi-truong&year=2019",
    "rankings": "/xep-hang?year=2019",
    "dossiers": "/ho-so",
    "records": "/ho-so-chi-tiet",
    "satisfaction": "/hai-long?year=2019",
}
# Screenshots a person looks at (the rest are measured only, to keep the check quick).
LOOKED_AT = {("overview", "phone"), ("overview", "projector"), ("unit", "phone"), ("unit", "projector"),
             ("dossiers", "phone"), ("dossiers", "projector")}

# Boxes of every visible SVG text inside each Plotly chart; pairs that overlap by more than a
# pixel each way, and texts that run out of their chart. Returns descriptions, empty when legible.
MEASURE = """() => {
  const found = [];
  const visible = el => {
    const s = getComputedStyle(el);
    return s.display !== 'none' && s.visibility !== 'hidden' && parseFloat(s.opacity || '1') > 0
      && parseFloat(el.getAttribute('fill-opacity') ?? '1') > 0;
  };
  document.querySelectorAll('.js-plotly-plot').forEach((plot, n) => {
    const frame = plot.getBoundingClientRect();
    const title = (plot.querySelector('.gtitle')?.textContent || `chart ${n}`).slice(0, 50);
    const boxes = [...plot.querySelectorAll('svg text')]
      .filter(el => el.textContent.trim() && visible(el) && !el.closest('.hoverlayer'))
      .map(el => ({text: el.textContent.trim().slice(0, 40), r: el.getBoundingClientRect()}))
      .filter(b => b.r.width > 0 && b.r.height > 0);
    boxes.forEach(b => {
      if (b.r.left < frame.left - 1 || b.r.right > frame.right + 1 || b.r.top < frame.top - 1
          || b.r.bottom > frame.bottom + 1)
        found.push(`${title}: "${b.text}" runs out of the chart`);
    });
    for (let i = 0; i < boxes.length; i++)
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i].r, b = boxes[j].r;
        const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
        const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
        if (w > 1 && h > 1) found.push(`${title}: "${boxes[i].text}" × "${boxes[j].text}"`);
      }
  });
  const main = document.querySelector('[data-testid="stMain"]') || document.documentElement;
  if (main.scrollWidth > main.clientWidth + 1 || document.documentElement.scrollWidth > window.innerWidth + 1)
    found.push(`the page scrolls sideways: ${main.scrollWidth} > ${main.clientWidth}`);
  return found;
}"""


@pytest.mark.parametrize("size", SIZES)
def test_every_leader_page_is_legible(browser, app_url, size):
    width, height = SIZES[size]
    phone = size == "phone"
    context = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN",
                                  is_mobile=phone, has_touch=phone, device_scale_factor=1,
                                  user_agent=PHONE_AGENT if phone else None)
    page = context.new_page()
    page.set_default_timeout(30_000)
    problems = {}
    try:
        for name, path in PAGES.items():
            page.goto(app_url + path)
            wait_for_app(page)
            # Until the screen probe has reported, charts may be laid out for another screen.
            page.wait_for_function(f"() => [...document.querySelectorAll('.js-plotly-plot')]"
                                   f".every(p => p.layout?.meta?.screen === '{size}' && p.querySelector('.gtitle'))")
            assert page.locator('[data-testid="stException"]').count() == 0, f"{name} ({size}) shows an error"
            if found := page.evaluate(MEASURE):
                problems[name] = found
            if (name, size) in LOOKED_AT:
                screenshot(page, f"legibility-{name}-{size}")
    finally:
        context.close()
    SHOTS.mkdir(parents=True, exist_ok=True)  # what was found, per page, for a person to read
    (SHOTS / f"legibility-{size}.json").write_text(json.dumps(problems, ensure_ascii=False, indent=1))
    assert not problems, "\n".join(f"{p} ({size}): {x}" for p, xs in problems.items() for x in xs)
