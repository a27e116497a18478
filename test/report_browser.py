#!/usr/bin/env python3
"""Opens a guidedbp --report page in headless Chromium over the DevTools
protocol (--remote-debugging-pipe; standard library only) and checks, from
the browser itself, what test_report.sh asks.

    report_browser.py CHROMIUM PAGE check ROWS ERRORS HOSTILE NONUTF8
        every row is there (paging through), every image loaded
        (naturalWidth > 0), sorting and filtering change the visible rows,
        the file names HOSTILE and NONUTF8 (its bytes as surrogateescape
        text) show as text with no element injected, no CSP violation, and
        every request the page made was for a file: URL
    report_browser.py CHROMIUM PAGE shot OUT.png
        a screenshot (README's)
    report_browser.py CHROMIUM PAGE time
        prints the page's load time (navigation to load event, and to its
        first rows drawn)

Prints "ok WHAT" / "FAIL WHAT"; exits 1 when any check failed."""
import json, os, shutil, subprocess, sys, tempfile, time


class Browser:
    def __init__(self, binary):
        self.profile = tempfile.mkdtemp(prefix="guidedbp-chromium-")
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()

        def fds():  # Chromium reads commands on fd 3 and answers on fd 4.
            a, b = os.dup(to_child_r), os.dup(from_child_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--no-default-browser-check", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--disable-extensions",
             "--user-data-dir=" + self.profile, "--remote-debugging-pipe", "about:blank"],
            preexec_fn=fds, close_fds=False, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(from_child_w)
        self.buf, self.next_id, self.events = b"", 0, []

    def close(self):
        self.proc.kill()
        self.proc.wait()
        os.close(self.to_child)
        os.close(self.from_child)
        shutil.rmtree(self.profile, ignore_errors=True)

    def _read(self):
        while b"\0" not in self.buf:
            chunk = os.read(self.from_child, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, session=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_child, json.dumps(msg).encode() + b"\0")
        while True:
            m = self._read()
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m["result"]
            self.events.append(m)

    def wait_event(self, method, timeout=30):
        end = time.time() + timeout
        while time.time() < end:
            for i, m in enumerate(self.events):
                if m.get("method") == method:
                    return self.events.pop(i)
            self.events.append(self._read())
        raise RuntimeError("no %s in %d s" % (method, timeout))

    def evaluate(self, session, expr):
        r = self.send("Runtime.evaluate", {"expression": expr, "awaitPromise": True,
                                           "returnByValue": True}, session)
        if "exceptionDetails" in r:
            raise RuntimeError("script failed: %s" % json.dumps(r["exceptionDetails"])[:800])
        return r["result"].get("value")


# Runs in the page before its own script: CSP violations are recorded.
WATCH = """window.__violations = [];
document.addEventListener('securitypolicyviolation',
  e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"""

# Runs in the loaded page: the facts the checks below judge.
FACTS = r"""(async () => {
  const $ = id => document.getElementById(id);
  const visible = () => [...document.querySelectorAll('#rows tr')].map(t => Number(t.dataset.index));
  const data = JSON.parse($('data').textContent), byIndex = {};
  for (const r of data.rows) byIndex[r.index] = r;
  const set = (id, v) => { $(id).value = v; $(id).dispatchEvent(new Event('input')); };
  const out = {dataRows: data.rows.length, violations: window.__violations};
  while (!$('prev').disabled) $('prev').click();
  const seen = [];
  for (;;) { seen.push(...visible()); if ($('next').disabled) break; $('next').click(); }
  while (!$('prev').disabled) $('prev').click();
  out.seen = seen.length;
  out.distinct = new Set(seen).size;
  // The thumbnails load lazily, as they come into view: all of them now.
  for (const i of document.images) i.loading = 'eager';
  await Promise.all([...document.images].map(i => i.complete ? 0 :
    new Promise(ok => { i.onload = i.onerror = ok; })));
  out.images = document.images.length;
  out.broken = [...document.images].filter(i => !(i.naturalWidth > 0)).map(i => i.src);
  const before = visible();
  document.querySelector('th[data-key=score]').click();
  const ascending = visible();
  document.querySelector('th[data-key=score]').click();
  const descending = visible();
  const scores = order => order.map(i => byIndex[i].score).filter(s => s !== null);
  const sorted = (a, sign) => a.every((v, k) => k === 0 || sign * (v - a[k - 1]) >= 0);
  out.sortChanged = ascending.join() !== before.join() && descending.join() !== ascending.join();
  out.sortAscending = sorted(scores(ascending), 1) && byIndex[ascending[ascending.length - 1]].score === null;
  out.sortDescending = sorted(scores(descending), -1);
  document.querySelector('th[data-key=index]').click();
  set('f-status', 'error');
  out.errorRows = visible().map(i => byIndex[i].status);
  set('f-status', '');
  const name = data.rows.find(r => r.class_name).class_name;
  set('f-class', name.slice(0, 4).toUpperCase());
  out.classRows = visible().map(i => byIndex[i].class_name);
  out.classExpected = data.rows.filter(r => (r.class_name || '').toLowerCase().includes(name.slice(0, 4).toLowerCase())).length;
  set('f-class', '');
  set('f-flat', 'varied');
  out.variedRows = visible().length;
  set('f-flat', '');
  const scoreList = data.rows.map(r => r.score).filter(s => s !== null).sort((a, b) => a - b);
  const median = scoreList[scoreList.length >> 1];
  set('f-min', String(median));
  out.minRows = visible().map(i => byIndex[i].score);
  out.minExpected = scoreList.filter(s => s >= median).length;
  set('f-min', '');
  out.allRows = visible().length;
  out.paths = [...document.querySelectorAll('#rows span.path')].map(s => s.textContent);
  out.injected = document.querySelectorAll('#rows b, #rows script, #rows iframe').length;
  out.cellElements = [...document.querySelectorAll('#rows td.name')].map(td =>
    [...td.querySelectorAll('*')].map(e => e.tagName).filter(t => !['A', 'SPAN', 'DIV'].includes(t))).flat();
  out.title = document.title;
  return out;
})()"""


# The load event's time and the first rows' (performance.now() when the
# page's script had drawn them), both from the navigation's start.
TIMES = """(() => { const n = performance.getEntriesByType('navigation')[0];
  return [n.loadEventEnd, Number(document.documentElement.dataset.drawnMs),
          document.querySelectorAll('#rows tr').length,
          JSON.parse(document.getElementById('data').textContent).rows.length]; })()"""


def open_page(b, path):
    target = b.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = b.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Network", "Runtime"):
        b.send(domain + ".enable", {}, session)
    b.send("Page.addScriptToEvaluateOnNewDocument", {"source": WATCH}, session)
    url = "file://" + os.path.abspath(path)
    start = time.time()
    b.send("Page.navigate", {"url": url}, session)
    b.wait_event("Page.loadEventFired")
    return session, time.time() - start


def main():
    binary, page, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    b = Browser(binary)
    failed = 0
    try:
        session, wall = open_page(b, page)
        if mode == "shot":  # README's picture: the page as a 1200x520 PNG
            b.send("Emulation.setDeviceMetricsOverride", {"width": 1200, "height": 520,
                                                          "deviceScaleFactor": 1, "mobile": False}, session)
            b.evaluate(session, "new Promise(ok => setTimeout(ok, 300))")
            shot = b.send("Page.captureScreenshot", {"format": "png"}, session)
            import base64
            open(sys.argv[4], "wb").write(base64.b64decode(shot["data"]))
            return 0
        if mode == "time":
            for visit in ("first visit", "reloaded"):
                t = b.evaluate(session, TIMES)
                print("%d rows, %.1f MB, %s: first %d rows drawn at %.0f ms, load event at %.0f ms "
                      "(the driver saw it after %.0f ms)" % (t[3], os.path.getsize(page) / 1e6,
                                                             visit, t[2], t[1], t[0], wall * 1e3))
                start = time.time()
                b.send("Page.reload", {}, session)
                b.wait_event("Page.loadEventFired")
                wall = time.time() - start
            return 0
        rows, errors, hostile, nonutf8 = int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], sys.argv[7]
        f = b.evaluate(session, FACTS)
        b.send("Runtime.evaluate", {"expression": "0"}, session)  # drain the events
        urls = [m["params"]["request"]["url"] for m in b.events
                if m.get("method") == "Network.requestWillBeSent"]

        def check(what, ok, detail=""):
            nonlocal failed
            print(("ok " if ok else "FAIL ") + what + ("" if ok else ": " + str(detail)[:1500]))
            failed += not ok

        check("the page holds %d records" % rows, f["dataRows"] == rows, f["dataRows"])
        check("every row is shown once across the pages", f["seen"] == rows and f["distinct"] == rows,
              (f["seen"], f["distinct"]))
        check("all %d images loaded (naturalWidth > 0)" % f["images"], f["images"] > 0 and not f["broken"],
              f["broken"])
        check("sorting by score changes the rows, ascending then descending (failed rows last)",
              f["sortChanged"] and f["sortAscending"] and f["sortDescending"], f)
        check("status filter 'error' shows the %d failed rows" % errors,
              f["errorRows"] == ["error"] * errors, f["errorRows"])
        check("class filter shows exactly the matching rows (%d)" % f["classExpected"],
              len(f["classRows"]) == f["classExpected"] < rows or
              len(f["classRows"]) == f["classExpected"] == rows - errors, f["classRows"])
        check("flat filter 'not flat' shows the done rows", f["variedRows"] == rows - errors, f["variedRows"])
        check("score filter keeps the %d rows at or above the median" % f["minExpected"],
              len(f["minRows"]) == f["minExpected"] and f["minExpected"] < rows, f["minRows"])
        check("clearing the filters shows all rows again", f["allRows"] == min(rows, 100), f["allRows"])
        check("a hostile file name shows as text", any(p.endswith(hostile) for p in f["paths"]), f["paths"])
        want = nonutf8.encode("utf-8", "surrogateescape").decode("utf-8", "surrogateescape")
        check("a non-UTF-8 file name shows as text", any(p.endswith(want) for p in f["paths"]),
              [p.encode("utf-8", "backslashreplace") for p in f["paths"]])
        check("no element injected by a name", f["injected"] == 0 and not f["cellElements"],
              (f["injected"], f["cellElements"]))
        check("no Content-Security-Policy violation", not f["violations"], f["violations"])
        check("every request (%d) was for a file: URL" % len(urls),
              urls and all(u.startswith("file:") for u in urls),
              [u for u in urls if not u.startswith("file:")])
    finally:
        b.close()
    return 1 if failed else 0


sys.exit(main())
