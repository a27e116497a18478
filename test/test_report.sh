#!/bin/sh
# --report FILE.html: the page's records, thumbnails and links, outputs the
# same with and without it, a resume that lists the skipped images; then in
# headless Chromium (test/report_browser.py): every row and image there,
# sorting and filtering, hostile names shown as text, no request off the
# machine, and the load time of 1,000 and 10,000 rows (printed, never
# judged). Without chromium the browser part is skipped, unless
# GUIDEDBP_REQUIRE_BROWSER=1 (CI) makes that a failure.
. test/lib.sh

TINY=test/fixtures/golden/tiny.safetensors
IMG=test/fixtures/images
PY=${PYTHON:-python3}
HOSTILE="a<b>&\"'.jpg"
NONUTF8=$(printf 'x\377y.png')

mkdir -p "$TMP/in/sub"
cp "$IMG/cat.png" "$TMP/in/cat.png"
cp "$IMG/cat.jpg" "$TMP/in/$HOSTILE"
cp "$IMG/cat224.png" "$TMP/in/$NONUTF8"
cp "$IMG/gray.png" "$TMP/in/sub/gray.png"
echo "not an image" >"$TMP/in/bad.png"

# page EXPRESSION HTML: the Python expression is true of the page's data
# (`d`: settings and rows) and text (`html`), read with the standard library.
page() {
    "$PY" - "$@" <<'PYEOF'
import json, os, re, sys
html = open(sys.argv[2], encoding="utf-8").read()
m = re.search(r'<script type="application/json" id="data">(.*?)</script>', html, re.S)
d = json.loads(m.group(1))
here = os.path.dirname(sys.argv[2])
def exists(url):  # a page-relative URL names a file
    from urllib.parse import unquote_to_bytes
    return url is not None and os.path.isfile(os.path.join(here.encode(), unquote_to_bytes(url)))
ok = eval(sys.argv[1])
if not ok:
    print("  FAIL: %s is false" % sys.argv[1])
    for r in d["rows"]: print("   ", json.dumps(r)[:400])
sys.exit(0 if ok else 1)
PYEOF
}

made() {
    "$GUIDEDBP" -q -r -w "$TINY" -o "$TMP/out" --report "$TMP/out/index.html" "$TMP/in" 2>"$TMP/err"
    [ $? -eq 1 ] || fail_with "expected exit 1 (bad.png fails)" || return 1
    page 'len(d["rows"]) == 5 and [r["status"] for r in d["rows"]].count("error") == 1' "$TMP/out/index.html" &&
        page 'd["settings"]["method"] == "guided" and all("settings" not in r for r in d["rows"])' "$TMP/out/index.html" &&
        page 'all(exists(r["page"]["input_thumb"]) and exists(r["page"]["map_thumb"]) and exists(r["page"]["map_href"]) and exists(r["page"]["input_href"]) for r in d["rows"] if r["status"] == "ok")' "$TMP/out/index.html" &&
        page 'all(r["page"]["input_thumb"].startswith("index_files/") for r in d["rows"] if r["status"] == "ok")' "$TMP/out/index.html" &&
        page 'any(r["input"].endswith(sys.argv[3]) for r in d["rows"])' "$TMP/out/index.html" "$HOSTILE" &&
        page '"sub/gray_guided.map.png" in html and "index_files/sub/" in html' "$TMP/out/index.html"
}
check "page: a row per image, links and thumbnails that exist, settings once" made

# No file name can close the data's <script> or open markup in it.
escaped() {
    page 'html.count("</script>") == 2 and "<b>" not in html and "\\u003cb>" in html' "$TMP/out/index.html"
}
check "page: '<' in the data written \\u003c" escaped

same_outputs() {
    "$GUIDEDBP" -q -r -w "$TINY" --json -o "$TMP/plain" "$TMP/in" >"$TMP/plain.jsonl" 2>/dev/null
    "$GUIDEDBP" -q -r -w "$TINY" --json -o "$TMP/with" --report "$TMP/with/r.html" "$TMP/in" >"$TMP/with.jsonl" 2>/dev/null
    for f in "$TMP/plain"/*.png "$TMP/plain"/sub/*.png; do
        cmp -s "$f" "$TMP/with/${f#"$TMP/plain/"}" || fail_with "$f differs with --report" || return 1
    done
    "$PY" -c 'import json, sys
def recs(f, d):
    out = []
    for l in open(f):
        r = json.loads(l)
        del r["ms"]
        r["outputs"] = [o.replace(d, "") for o in r["outputs"]]
        out.append(r)
    return out
sys.exit(recs(sys.argv[1], "/plain/") != recs(sys.argv[2], "/with/"))' "$TMP/plain.jsonl" "$TMP/with.jsonl" ||
        fail_with "the --json records differ with --report" || return 1
    [ -d "$TMP/with/r_files" ] || fail_with "no r_files/ beside r.html"
}
check "outputs: the same PNG bytes and --json records with --report" same_outputs

resumed() {
    rm -f "$TMP/out/index.html"
    "$GUIDEDBP" -q -r -w "$TINY" --skip-existing -o "$TMP/out" --report "$TMP/out/index.html" "$TMP/in" 2>"$TMP/err"
    page 'len(d["rows"]) == 5 and [r["status"] for r in d["rows"]].count("skipped") == 4' "$TMP/out/index.html" &&
        page 'all(r["page"]["map_thumb"].startswith("index_files/") and exists(r["page"]["map_thumb"]) for r in d["rows"] if r["status"] == "skipped")' "$TMP/out/index.html" &&
        page 'all(r["class_name"] for r in d["rows"] if r["status"] == "skipped")' "$TMP/out/index.html"
}
check "resume: the skipped images listed with their stored results and thumbnails" resumed

# Skipped images whose thumbnails were never made link their full-size files.
no_thumbs() {
    "$GUIDEDBP" -q -r -w "$TINY" --skip-existing -o "$TMP/out" --report "$TMP/out/other.html" "$TMP/in" 2>"$TMP/err"
    page 'all(r["page"]["map_thumb"] == r["page"]["map_href"] and exists(r["page"]["map_thumb"]) for r in d["rows"] if r["status"] == "skipped")' "$TMP/out/other.html"
}
check "resume: without earlier thumbnails the full-size files are shown" no_thumbs

check "usage: --report with -o - is refused" \
    expect 2 "--report x.html: the page is a file" "$GUIDEDBP" -w "$TINY" -o - --report x.html "$IMG/cat.png"

# An interrupted run's page lists every image it reported: those done, and
# any the signal stopped in flight (an error saying so).
interrupted() {
    mkdir -p "$TMP/many"
    for i in $(seq 1 60); do cp "$IMG/cat224.png" "$TMP/many/c$i.png"; done
    "$GUIDEDBP" -w "$TINY" -o "$TMP/many_out" --report "$TMP/many_out/index.html" "$TMP/many" \
        >/dev/null 2>"$TMP/many.err" &
    pid=$!
    while [ ! -f "$TMP/many_out/c3_guided.png" ] && kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
    kill -TERM "$pid"
    wait "$pid"
    got=$?
    done_pngs=$(ls "$TMP/many_out" | grep -c '_guided.png$')
    [ "$got" -eq 143 ] || [ "$got" -eq 0 ] || fail_with "exit $got" || return 1
    reported=$(sed -n 's/.*interrupted after \([0-9]*\) of 60 images.*/\1/p' "$TMP/many.err")
    [ -n "$reported" ] || fail_with "no 'interrupted after N of 60': $(cat "$TMP/many.err")" || return 1
    page 'len(d["rows"]) == int(sys.argv[3]) < 60 and [r["status"] for r in d["rows"]].count("ok") == int(sys.argv[4]) and all("interrupted" in r["error"] for r in d["rows"] if r["status"] != "ok")' \
        "$TMP/many_out/index.html" "$reported" "$done_pngs"
}
check "interrupted: the page lists every image reported before SIGTERM stopped the run" interrupted

browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
    if [ "${GUIDEDBP_REQUIRE_BROWSER:-0}" = 1 ]; then
        check "browser: chromium is installed (GUIDEDBP_REQUIRE_BROWSER=1)" false
    else
        echo "skip browser checks: no chromium (apt-get install chromium; CI sets GUIDEDBP_REQUIRE_BROWSER=1)"
    fi
    summary
    exit $?
fi

in_browser() {
    # Rebuilt after the resume checks: 4 done and 1 failed rows.
    "$GUIDEDBP" -q -r -w "$TINY" -o "$TMP/b" --report "$TMP/b/index.html" "$TMP/in" 2>"$TMP/err"
    "$PY" test/report_browser.py "$browser" "$TMP/b/index.html" check 5 1 "$HOSTILE" "$NONUTF8"
}
check "browser: rows, images, sorting, filters, hostile names, no network" in_browser

# Load times: 200 images run by guidedbp, their rows repeated (each with
# its own index, the same thumbnails) into pages of 1,000 and 10,000 rows.
timing() {
    mkdir -p "$TMP/t"
    for i in $(seq 1 200); do cp "$IMG/cat224.png" "$TMP/t/c$i.png"; done
    "$GUIDEDBP" -q -w "$TINY" --batch 16 -o "$TMP/t_out" --report "$TMP/t_out/index.html" "$TMP/t" || return 1
    for n in 1000 10000; do
        "$PY" - "$TMP/t_out/index.html" "$TMP/t_out/rows$n.html" "$n" <<'PYEOF' || return 1
import json, re, sys
html = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r'(<script type="application/json" id="data">)(.*?)(</script>)', html, re.S)
d = json.loads(m.group(2))
rows = [dict(d["rows"][i % len(d["rows"])], index=i) for i in range(int(sys.argv[3]))]
text = json.dumps({"settings": d["settings"], "rows": rows}, separators=(",", ":")).replace("<", "\\u003c")
open(sys.argv[2], "w", encoding="utf-8").write(html[:m.start(2)] + text + html[m.end(2):])
PYEOF
        "$PY" test/report_browser.py "$browser" "$TMP/t_out/rows$n.html" time || return 1
    done
}
check "browser: load time of 1,000 and 10,000 rows (printed)" timing

summary
