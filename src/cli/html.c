#include "cli/html.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nettle/base64.h>
#include <nettle/sha2.h>

#include "io/fileio.h"
#include "io/png.h"
#include "io/resize.h"

/* The page's style and script, kept as lines (ISO C promises string
 * literals of 4095 bytes only). The script reads the records' strings into
 * textContent only, never into markup. */
static const char *const page_style[] = {
    "body { font: 14px/1.35 system-ui, sans-serif; margin: 1em; color: #111; background: #fff; }",
    "h1 { font-size: 1.3em; margin: 0 0 .3em; }",
    ".filters label { margin-right: 1em; white-space: nowrap; }",
    ".filters input[type=number] { width: 7em; }",
    ".pager { margin: .6em 0; }",
    "table { border-collapse: collapse; }",
    "th, td { border-bottom: 1px solid #ddd; padding: 3px 6px; vertical-align: top; text-align: left; }",
    "th[data-key] { cursor: pointer; user-select: none; }",
    "th[aria-sort=ascending]::after { content: \" \\25B2\"; }",
    "th[aria-sort=descending]::after { content: \" \\25BC\"; }",
    "td.num { text-align: right; font-variant-numeric: tabular-nums; }",
    "td.name { min-width: 12em; max-width: 22em; overflow-wrap: anywhere; }",
    "td.top { font-size: .85em; min-width: 11em; }",
    "td.check { font-size: .85em; max-width: 16em; }",
    ".error { color: #b00; }",
    ".note { color: #666; font-size: .85em; }",
    "tr.status-error { background: #fff3f3; }",
    "tr.status-skipped { background: #f6f8ff; }",
    "td.pic { min-width: 112px; }",
    "td.pic img { display: block; max-width: 112px; max-height: 112px; }",
    ".overlay { position: relative; display: inline-block; }",
    ".overlay img + img { position: absolute; left: 0; top: 0; width: 100%; height: 100%; opacity: .5; }",
};

static const char *const page_script[] = {
    "'use strict';",
    "const data = JSON.parse(document.getElementById('data').textContent);",
    "const rows = data.rows, PER_PAGE = 100;",
    "const $ = id => document.getElementById(id);",
    "let view = rows, page = 0, sortKey = 'index', sortDir = 1;",
    "// Every string from the records goes in as textContent, never as markup.",
    "function el(tag, cls, text) {",
    "  const e = document.createElement(tag);",
    "  if (cls) e.className = cls;",
    "  if (text !== undefined && text !== null) e.textContent = String(text);",
    "  return e;",
    "}",
    "function num(v, digits) { return typeof v === 'number' ? v.toFixed(digits) : ''; }",
    "function sim(v) { return typeof v === 'number' ? v.toFixed(3) : 'undefined'; }",
    "// A check's headline: the class check's spearman_abs, or randomize's with every layer re-drawn.",
    "function checkLast(r) {",
    "  const c = r.check;",
    "  if (!c) return null;",
    "  return c.cascading ? c.cascading[c.cascading.length - 1] || null : c;",
    "}",
    "function checkScore(r) { const c = checkLast(r); return c ? c.spearman_abs : null; }",
    "function checkText(r) {",
    "  const c = checkLast(r);",
    "  if (!c) return '';",
    "  const what = r.check.cascading ? 'cascading to ' + c.layer : 'vs ' + r.check.vs;",
    "  return what + ': sp_abs ' + sim(c.spearman_abs) + ', ssim ' + sim(c.ssim);",
    "}",
    "const KEYS = {",
    "  index: r => r.index, input: r => r.input, class: r => r.class_name, score: r => r.score,",
    "  probability: r => r.probability, status: r => r.status, flat: r => r.flat,",
    "  check: checkScore, ms: r => r.ms,",
    "};",
    "function sortView() {",
    "  const key = KEYS[sortKey];",
    "  // Missing values last whichever the direction; ties in input order.",
    "  view.sort((a, b) => {",
    "    const x = key(a), y = key(b), xm = x === null || x === undefined, ym = y === null || y === undefined;",
    "    if (xm || ym) return (xm - ym) || a.index - b.index;",
    "    return (x < y ? -1 : x > y ? 1 : 0) * sortDir || a.index - b.index;",
    "  });",
    "}",
    "function filters() {",
    "  const number = id => { const v = $(id).value.trim(); return v === '' ? null : Number(v); };",
    "  return {",
    "    cls: $('f-class').value.trim().toLowerCase(), name: $('f-name').value.trim().toLowerCase(),",
    "    status: $('f-status').value, flat: $('f-flat').value, min: number('f-min'), max: number('f-max'),",
    "  };",
    "}",
    "function matches(r, f) {",
    "  if (f.cls && String(r.class) !== f.cls && !(r.class_name || '').toLowerCase().includes(f.cls)) return false;",
    "  if (f.name && !(r.input || '').toLowerCase().includes(f.name)) return false;",
    "  if (f.status && r.status !== f.status) return false;",
    "  if (f.flat === 'flat' && r.flat !== true) return false;",
    "  if (f.flat === 'varied' && r.flat !== false) return false;",
    "  if (f.min !== null && !(r.score >= f.min)) return false;",
    "  if (f.max !== null && !(r.score <= f.max)) return false;",
    "  return true;",
    "}",
    "function link(href, child) {",
    "  if (!href) return child;",
    "  const a = el('a');",
    "  a.href = href;",
    "  a.append(child);",
    "  return a;",
    "}",
    "function thumb(src, alt) {",
    "  const img = el('img');",
    "  img.alt = alt;",
    "  img.loading = 'lazy';",
    "  img.decoding = 'async';",
    "  img.src = src;",
    "  return img;",
    "}",
    "function cell(tr, cls, text) { const td = el('td', cls, text); tr.append(td); return td; }",
    "function row(r) {",
    "  const p = r.page || {}, tr = el('tr', 'status-' + r.status);",
    "  tr.dataset.index = r.index;",
    "  cell(tr, 'num', r.index);",
    "  const name = cell(tr, 'name');",
    "  name.append(link(p.input_href, el('span', 'path', r.input)));",
    "  if (r.error) name.append(el('div', 'error', r.error));",
    "  if (r.redone) name.append(el('div', 'note', 'redone: ' + r.redone));",
    "  const photo = cell(tr, 'pic'), map = cell(tr, 'pic'), over = cell(tr, 'pic');",
    "  if (p.input_thumb) photo.append(link(p.input_href, thumb(p.input_thumb, 'input')));",
    "  if (p.map_thumb) map.append(link(p.map_href, thumb(p.map_thumb, 'map')));",
    "  if (p.input_thumb && p.map_thumb) {",
    "    const o = el('span', 'overlay');",
    "    o.append(thumb(p.input_thumb, 'input'), thumb(p.map_thumb, 'map over the input'));",
    "    over.append(link(p.map_href, o));",
    "  }",
    "  cell(tr, 'class', r.class === null || r.class === undefined ? '' : r.class + ' ' + (r.class_name || ''));",
    "  cell(tr, 'num', num(r.score, 4));",
    "  cell(tr, 'num', num(r.probability, 4));",
    "  const top = cell(tr, 'top');",
    "  for (const t of r.topk || []) top.append(el('div', null, t.class + ' ' + (t.class_name || '') + ' ' + num(t.probability, 3)));",
    "  cell(tr, 'status', r.status);",
    "  cell(tr, 'flat', r.flat ? 'flat' : '');",
    "  const check = cell(tr, 'check', checkText(r));",
    "  if (r.check) check.title = JSON.stringify(r.check);",
    "  cell(tr, 'num', num(r.ms, 1));",
    "  return tr;",
    "}",
    "function draw() {",
    "  const pages = Math.max(1, Math.ceil(view.length / PER_PAGE));",
    "  page = Math.max(0, Math.min(page, pages - 1));",
    "  const first = page * PER_PAGE, shown = view.slice(first, first + PER_PAGE);",
    "  $('rows').replaceChildren(...shown.map(row));",
    "  $('count').textContent = view.length",
    "    ? 'rows ' + (first + 1) + '-' + (first + shown.length) + ' of ' + view.length + ' shown (' + rows.length + ' in all)'",
    "    : 'no row matches (' + rows.length + ' in all)';",
    "  $('page').textContent = 'page ' + (page + 1) + ' of ' + pages;",
    "  $('prev').disabled = page === 0;",
    "  $('next').disabled = page >= pages - 1;",
    "  for (const th of document.querySelectorAll('th[data-key]'))",
    "    th.setAttribute('aria-sort', th.dataset.key !== sortKey ? 'none' : sortDir > 0 ? 'ascending' : 'descending');",
    "}",
    "function update() {",
    "  const f = filters();",
    "  view = rows.filter(r => matches(r, f));",
    "  sortView();",
    "  page = 0;",
    "  draw();",
    "}",
    "for (const id of ['f-class', 'f-name', 'f-status', 'f-flat', 'f-min', 'f-max']) $(id).addEventListener('input', update);",
    "for (const th of document.querySelectorAll('th[data-key]'))",
    "  th.addEventListener('click', () => {",
    "    sortDir = th.dataset.key === sortKey ? -sortDir : 1;",
    "    sortKey = th.dataset.key;",
    "    sortView();",
    "    page = 0;",
    "    draw();",
    "  });",
    "$('prev').addEventListener('click', () => { page--; draw(); });",
    "$('next').addEventListener('click', () => { page++; draw(); });",
    "const counts = {};",
    "for (const r of rows) counts[r.status] = (counts[r.status] || 0) + 1;",
    "$('summary').textContent = rows.length + ' images: ' + Object.keys(counts).map(k => counts[k] + ' ' + k).join(', ');",
    "$('settings').textContent = JSON.stringify(data.settings, null, 1);",
    "update();",
    "document.documentElement.dataset.drawnMs = performance.now().toFixed(1);",
};

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* lines joined by newlines (malloc'd, NULL when out of memory). */
static char *join_lines(const char *const *lines, size_t n) {
    size_t len = 1;
    for (size_t i = 0; i < n; i++) len += strlen(lines[i]) + 1;
    char *s = malloc(len), *at = s;
    for (size_t i = 0; s && i < n; i++) at += sprintf(at, "%s\n", lines[i]);
    return s;
}

/* 'sha256-BASE64' of text, for the CSP, into out (at least 64 bytes). */
static void csp_hash(char *out, const char *text) {
    struct sha256_ctx ctx;
    uint8_t d[SHA256_DIGEST_SIZE];
    char b64[BASE64_ENCODE_RAW_LENGTH(SHA256_DIGEST_SIZE) + 1];
    sha256_init(&ctx);
    sha256_update(&ctx, strlen(text), (const uint8_t *)text);
    sha256_digest(&ctx, sizeof d, d);
    base64_encode_raw(b64, sizeof d, d);
    b64[sizeof b64 - 1] = '\0';
    sprintf(out, "'sha256-%s'", b64);
}

/* path made absolute against the working directory, with ".", ".." and
 * repeated '/' resolved lexically (the files may not exist yet); "" is the
 * root. malloc'd, NULL when out of memory. */
static char *absolute(const char *path) {
    char cwd[4096] = "";
    if (path[0] != '/' && !getcwd(cwd, sizeof cwd)) return NULL;
    size_t n = strlen(cwd) + strlen(path) + 2;
    char *joined = malloc(n), *out = malloc(n);
    if (!joined || !out) {
        free(joined), free(out);
        return NULL;
    }
    snprintf(joined, n, "%s/%s", cwd, path);
    size_t len = 0;
    for (char *part = joined; *part;) {
        char *end = strchr(part, '/');
        size_t k = end ? (size_t)(end - part) : strlen(part);
        if (k == 2 && part[0] == '.' && part[1] == '.') {
            while (len > 0 && out[--len] != '/') {}
        } else if (k > 0 && !(k == 1 && part[0] == '.')) {
            out[len++] = '/';
            memcpy(out + len, part, k);
            len += k;
        }
        part += k + (end != NULL);
    }
    out[len] = '\0';
    free(joined);
    return out;
}

/* file relative to dir, both absolute (absolute's form): malloc'd. */
static char *relative(const char *dir, const char *file) {
    size_t common = 0; // dir's part that file shares, ending at a component's end
    for (size_t i = 0;; i++) {
        int dir_end = dir[i] == '\0' || dir[i] == '/', file_end = file[i] == '\0' || file[i] == '/';
        if (dir_end && file_end) common = i;
        if (!dir[i] || !file[i] || dir[i] != file[i]) break;
    }
    int ups = 0;
    for (const char *c = dir + common; *c; c++) ups += *c == '/';
    const char *rest = file[common] ? file + common + 1 : file + common;
    char *out = malloc(3 * (size_t)ups + strlen(rest) + 1);
    if (!out) return NULL;
    out[0] = '\0';
    for (int u = 0; u < ups; u++) strcat(out, "../");
    return strcat(out, rest);
}

/* A relative path as a URL path: every byte but unreserved ones and '/'
 * percent-encoded, so any file name (quotes, '#', '?', bytes that are not
 * UTF-8) is one ASCII link. malloc'd. */
static char *url_path(const char *path) {
    static const char hex[] = "0123456789ABCDEF";
    char *out = malloc(3 * strlen(path) + 1), *at = out;
    for (const unsigned char *c = (const unsigned char *)path; out && *c; c++) {
        if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
            strchr("-._~/", *c)) {
            *at++ = (char)*c;
        } else {
            *at++ = '%', *at++ = hex[*c >> 4], *at++ = hex[*c & 15];
        }
    }
    if (out) *at = '\0';
    return out;
}

/* file's URL relative to the page (NULL when out of memory). */
static char *href(const HtmlPage *h, const char *file) {
    char *abs = absolute(file), *rel = abs ? relative(h->dir, abs) : NULL, *url = rel ? url_path(rel) : NULL;
    free(abs), free(rel);
    return url;
}

int html_init(HtmlPage *h, const char *path, const char *settings, Error *e) {
    memset(h, 0, sizeof *h);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t stem = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    char *dir = NULL;
    h->path = strdup(path);
    h->files_name = malloc(stem + sizeof "_files");
    if (h->files_name) snprintf(h->files_name, stem + sizeof "_files", "%.*s_files", (int)stem, base);
    if (h->path && (dir = strdup(path))) {
        char *slash = strrchr(dir, '/');
        if (slash) slash[1] = '\0';
        h->dir = absolute(slash ? dir : ".");
    }
    free(dir);
    h->settings = settings ? strdup(settings) : NULL;
    h->style = join_lines(page_style, sizeof page_style / sizeof *page_style);
    h->script = join_lines(page_script, sizeof page_script / sizeof *page_script);
    size_t csp_len = 400;
    h->csp = malloc(csp_len);
    if (!h->path || !h->files_name || !h->dir || (settings && !h->settings) || !h->style ||
        !h->script || !h->csp) {
        html_free(h);
        return error_set(e, "%s: out of memory", path);
    }
    char style_hash[64], script_hash[64];
    csp_hash(style_hash, h->style);
    csp_hash(script_hash, h->script);
    snprintf(h->csp, csp_len, "default-src 'none'; img-src 'self' file: data:; style-src %s; "
             "script-src %s; base-uri 'none'; form-action 'none'", style_hash, script_hash);
    return 0;
}

void html_free(HtmlPage *h) {
    if (!h) return;
    for (int i = 0; i < h->n_rows; i++) free(h->rows[i]);
    free(h->rows);
    free(h->path), free(h->dir), free(h->files_name), free(h->settings);
    free(h->csp), free(h->style), free(h->script);
    memset(h, 0, sizeof *h);
}

/* The thumbnail `kind` of the map at png: its path (beside the page) and
 * its URL, malloc'd; the map's path relative to the page keeps its
 * folders, with ".." made "_up" so it stays inside PAGE_files. */
static int thumb_names(const HtmlPage *h, const char *png, const char *kind, char **path,
                       char **url) {
    char *abs = absolute(png), *rel = abs ? relative(h->dir, abs) : NULL;
    *path = *url = NULL;
    if (!rel) {
        free(abs);
        return -1;
    }
    size_t n = strlen(h->files_name) + 2 * strlen(rel) + strlen(kind) + 8;
    char *name = malloc(n);
    if (name) {
        size_t len = (size_t)snprintf(name, n, "%s/", h->files_name);
        size_t k = strlen(rel);
        if (k > 4 && strcmp(rel + k - 4, ".png") == 0) k -= 4;
        for (size_t i = 0; i < k; i++) {
            int up = rel[i] == '.' && rel[i + 1] == '.' && (i == 0 || rel[i - 1] == '/') &&
                     (rel[i + 2] == '/' || i + 2 == k);
            if (up) {
                len += (size_t)snprintf(name + len, n - len, "_up");
                i++;
            } else {
                name[len++] = rel[i];
            }
        }
        snprintf(name + len, n - len, ".%s.png", kind);
        *url = url_path(name);
        size_t pn = strlen(h->dir) + strlen(name) + 2;
        if ((*path = malloc(pn))) snprintf(*path, pn, "%s/%s", h->dir, name);
    }
    free(abs), free(rel), free(name);
    if (*path && *url) return 0;
    free(*path), free(*url);
    *path = *url = NULL;
    return -1;
}

/* A thumbnail of px (ph, pw, channels) at path. */
static int write_thumb(const char *path, const uint8_t *px, int ph, int pw, int channels, Error *e) {
    int tw = pw, th = ph;
    if (pw >= ph && pw > HTML_THUMB) tw = HTML_THUMB, th = (int)((ph * HTML_THUMB + pw / 2) / pw);
    if (ph > pw && ph > HTML_THUMB) th = HTML_THUMB, tw = (int)((pw * HTML_THUMB + ph / 2) / ph);
    th = th < 1 ? 1 : th, tw = tw < 1 ? 1 : tw;
    uint8_t *small = malloc((size_t)tw * th * channels);
    if (!small) return error_set(e, "%s: out of memory", path);
    resize_box(small, th, tw, px, ph, pw, channels);
    int rc = file_make_parents(path, e);
    if (rc == 0) rc = png_write(path, small, th, tw, channels, 1, NULL, 0, e);
    free(small);
    return rc;
}

/* s into b, each '<' as \u003c: JSON that cannot end the <script> it is in. */
static void append_script_json(Buf *b, const char *s) {
    for (const char *lt; (lt = strchr(s, '<')); s = lt + 1) {
        buf_append(b, s, (size_t)(lt - s));
        buf_append(b, "\\u003c", 6);
    }
    buf_append(b, s, strlen(s));
}

/* cJSON's string, or null for NULL. */
static void add_url(cJSON *o, const char *key, const char *url) {
    if (url) cJSON_AddStringToObject(o, key, url);
    else cJSON_AddNullToObject(o, key);
}

int html_add(HtmlPage *h, cJSON *record, const Input *in, const Result *res, Error *e) {
    int rc = 0, has_map = res->written || res->status == RESULT_SKIPPED;
    char *input_href = strcmp(in->path, "-") == 0 ? NULL : href(h, in->path);
    char *map_href = has_map ? href(h, in->png) : NULL;
    char *paths[2] = {NULL, NULL}, *urls[2] = {NULL, NULL};
    static const char *const kinds[2] = {"input", "map"};
    for (int k = 0; has_map && k < 2; k++) {
        if (thumb_names(h, in->png, kinds[k], &paths[k], &urls[k]) != 0) continue;
        const uint8_t *px = k == 0 ? res->crop : res->picture;
        int written = px && rc == 0 &&
                      write_thumb(paths[k], px, res->pic_h, res->pic_w,
                                  k == 0 ? 3 : res->pic_channels, e) == 0;
        if (px && !written) rc = -1;
        // Skipped: the thumbnails an earlier run wrote, else the full-size files.
        if (!written && !(res->status == RESULT_SKIPPED && file_exists(paths[k]))) {
            free(urls[k]);
            urls[k] = k == 0 ? (input_href ? strdup(input_href) : NULL)
                             : (map_href ? strdup(map_href) : NULL);
        }
    }
    cJSON *page = cJSON_CreateObject();
    add_url(page, "input_thumb", urls[0]);
    add_url(page, "map_thumb", urls[1]);
    add_url(page, "input_href", input_href);
    add_url(page, "map_href", map_href);
    cJSON_AddItemToObject(record, "page", page);
    for (int k = 0; k < 2; k++) free(paths[k]), free(urls[k]);
    free(input_href), free(map_href);
    char *json = cJSON_PrintUnformatted(record);
    cJSON_DeleteItemFromObjectCaseSensitive(record, "page");
    Buf escaped = {0};
    if (json) {
        append_script_json(&escaped, json);
        buf_append(&escaped, "", 1);
    }
    free(json);
    char *text = escaped.failed ? NULL : (char *)escaped.data;
    if (!text) buf_free(&escaped);
    if (text && h->n_rows == h->cap_rows) {
        int cap = h->cap_rows ? 2 * h->cap_rows : 64;
        char **rows = realloc(h->rows, sizeof *rows * (size_t)cap);
        if (!rows) free(text), text = NULL;
        else h->rows = rows, h->cap_rows = cap;
    }
    if (!text) return error_set(e, "%s: out of memory", h->path);
    h->rows[h->n_rows++] = text;
    return rc;
}

int html_due(const HtmlPage *h, double now) {
    double wait = h->cost_ms * HTML_REWRITE_SHARE;
    return now - h->written_ms >= (wait > HTML_REWRITE_MS ? wait : HTML_REWRITE_MS);
}

static void append(Buf *b, const char *s) { buf_append(b, s, strlen(s)); }

int html_write(HtmlPage *h, Error *e) {
    double start = now_ms();
    Buf b = {0};
    append(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
               "<meta http-equiv=\"Content-Security-Policy\" content=\"");
    append(&b, h->csp);
    append(&b, "\">\n<meta name=\"referrer\" content=\"no-referrer\">\n"
               "<title>guidedbp report</title>\n<style>");
    append(&b, h->style);
    append(&b, "</style>\n</head>\n<body>\n<h1>guidedbp report</h1>\n<p id=\"summary\"></p>\n"
               "<details><summary>settings</summary><pre id=\"settings\"></pre></details>\n"
               "<noscript><p>This page needs JavaScript to show its rows.</p></noscript>\n"
               "<div class=\"filters\">\n"
               "<label>class <input id=\"f-class\" type=\"search\" placeholder=\"name or index\">"
               "</label>\n<label>file <input id=\"f-name\" type=\"search\"></label>\n"
               "<label>status <select id=\"f-status\"><option value=\"\">any</option>"
               "<option>ok</option><option>skipped</option><option>error</option></select>"
               "</label>\n<label>map <select id=\"f-flat\"><option value=\"\">any</option>"
               "<option value=\"flat\">flat</option><option value=\"varied\">not flat</option>"
               "</select></label>\n<label>score from <input id=\"f-min\" type=\"number\" "
               "step=\"any\"></label>\n<label>to <input id=\"f-max\" type=\"number\" "
               "step=\"any\"></label>\n</div>\n<div class=\"pager\"><button id=\"prev\" "
               "type=\"button\">previous</button> <span id=\"page\"></span> <button id=\"next\" "
               "type=\"button\">next</button> <span id=\"count\"></span></div>\n"
               "<table>\n<thead><tr><th data-key=\"index\">#</th><th data-key=\"input\">input"
               "</th><th>photo</th><th>map</th><th>overlay</th><th data-key=\"class\">class</th>"
               "<th data-key=\"score\">score</th><th data-key=\"probability\">p</th>"
               "<th>top-k</th><th data-key=\"status\">status</th><th data-key=\"flat\">flat</th>"
               "<th data-key=\"check\">check</th><th data-key=\"ms\">ms</th></tr></thead>\n"
               "<tbody id=\"rows\"></tbody>\n</table>\n"
               "<script type=\"application/json\" id=\"data\">{\"settings\":");
    append_script_json(&b, h->settings ? h->settings : "null");
    append(&b, ",\"rows\":[\n");
    for (int i = 0; i < h->n_rows; i++) {
        if (i) append(&b, ",\n");
        append(&b, h->rows[i]); // escaped as they were added
    }
    append(&b, "]}</script>\n<script>");
    append(&b, h->script);
    append(&b, "</script>\n</body>\n</html>\n");
    int rc = b.failed ? error_set(e, "%s: out of memory", h->path) : file_make_parents(h->path, e);
    if (rc == 0) rc = file_write_atomic(h->path, b.data, b.len, e);
    buf_free(&b);
    h->written_ms = now_ms();
    h->cost_ms = h->written_ms - start;
    return rc < 0 ? -1 : rc;
}
