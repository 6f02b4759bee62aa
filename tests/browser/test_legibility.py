"""Every leader page on a phone, a laptop and a projector: no text inside a chart collides with
other text, a reference line or a marker, or runs out of its chart; percentage axes stay within
0–100; a projector's chart text is 16 px at least; and nothing scrolls sideways.

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


# Value labels under a reference line (a target, a break: thin shapes) or a marker (a peers'
# median tick, a point), from the boxes the browser drew, strokes included (a line's box is 0 wide);
# percentage axes (titled "(%)" or with "%" after each tick) past 0–100; and, on a projector, any
# tick label, value label or hover text under 16 px.
GEOMETRY = r"""(minFont) => {
  const found = [];
  const stroked = el => {
    const r = el.getBoundingClientRect(), s = parseFloat(getComputedStyle(el).strokeWidth || '0') / 2;
    return {left: r.left - s, right: r.right + s, top: r.top - s, bottom: r.bottom + s};
  };
  document.querySelectorAll('.js-plotly-plot').forEach((plot, n) => {
    const title = (plot.querySelector('.gtitle')?.textContent || `chart ${n}`).slice(0, 50);
    const labels = [...plot.querySelectorAll('.bartext, .textpoint text, .annotation-text')]
      .filter(el => el.textContent.trim() && el.getBoundingClientRect().width > 0);
    const marks = [
      ...[...plot.querySelectorAll('.shapelayer path')].map(el => ['line', stroked(el)])
        .filter(([, r]) => Math.min(r.right - r.left, r.bottom - r.top) <= 6),
      ...[...plot.querySelectorAll('.scatterlayer .points path.point')].map(el => ['marker', stroked(el)])];
    const seen = new Set();
    labels.forEach(el => {
      const l = el.getBoundingClientRect();
      marks.forEach(([kind, r]) => {
        const w = Math.min(l.right, r.right) - Math.max(l.left, r.left);
        const h = Math.min(l.bottom, r.bottom) - Math.max(l.top, r.top);
        const what = `${title}: "${el.textContent.trim().slice(0, 30)}" under a ${kind}`;
        if (w > 0.5 && h > 2 && !seen.has(what)) { seen.add(what); found.push(what); }
      });
    });
    const full = plot._fullLayout;
    Object.keys(full).filter(k => /^[xy]axis\d*$/.test(k)).forEach(k => {
      const ax = full[k], text = (ax.title?.text || '').replace(/\s*<br>\s*/g, ' ').trim();
      if ((ax.ticksuffix === '%' || text.endsWith('(%)')) && (Math.max(...ax.range) > 100.001 || Math.min(...ax.range) < -0.001))
        found.push(`${title}: ${k} "${text}" runs ${ax.range.map(v => v.toFixed(1)).join('–')}`);
    });
    if (minFont) {
      const small = [...plot.querySelectorAll('.xtick text, .ytick text, [class*="tick"] text, .bartext, .textpoint text, .annotation-text, .cbaxis text')]
        .filter(el => el.textContent.trim() && parseFloat(getComputedStyle(el).fontSize) < minFont - 0.01)
        .map(el => `"${el.textContent.trim().slice(0, 20)}" ${getComputedStyle(el).fontSize}`);
      if (small.length) found.push(`${title}: under ${minFont} px: ${[...new Set(small)].slice(0, 5).join(', ')}`);
      if (full.hoverlabel.font.size < minFont) found.push(`${title}: hover text ${full.hoverlabel.font.size} px`);
    }
  });
  return found;
}"""
MIN_FONT = {"projector": 16}  # read from the back of a meeting room


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
            if found := page.evaluate(MEASURE) + page.evaluate(GEOMETRY, MIN_FONT.get(size, 0)):
                problems[name] = found
            if (name, size) in LOOKED_AT:
                screenshot(page, f"legibility-{name}-{size}")
    finally:
        context.close()
    SHOTS.mkdir(parents=True, exist_ok=True)  # what was found, per page, for a person to read
    (SHOTS / f"legibility-{size}.json").write_text(json.dumps(problems, ensure_ascii=False, indent=1))
    assert not problems, "\n".join(f"{p} ({size}): {x}" for p, xs in problems.items() for x in xs)
