/* html.h: --report FILE.html, one offline page of a batch's results.
 *
 * The page is self-contained: its style and script are inline (the
 * Content-Security-Policy allows those two by their SHA-256 and images from
 * files, nothing else, so it can make no request), and its data is each
 * image's record, the object --json prints without the run's settings
 * (which the page holds once), in a <script type="application/json"> with
 * every '<' written \u003c, so no file name can end the script. The script
 * renders the rows as text, 100 a page, sortable and filterable. Each
 * record gains "page": {"input_thumb", "map_thumb", "input_href",
 * "map_href"}, URL-escaped paths relative to the page's directory (or
 * null): thumbnails (at most HTML_THUMB pixels a side) of the photo the
 * network saw and of the map, written into PAGE_files/ beside the page and
 * named after the map's PNG, so that a resumed run finds those of the
 * images it skips; an image skipped without them shows its full-size files.
 *
 *     HtmlPage h;
 *     html_init(&h, "out/index.html", settings, &err);
 *     html_add(&h, record, in, res, &err);  // per image, in order
 *     if (html_due(&h, now_ms)) html_write(&h, &err);  // now and then
 *     html_write(&h, &err);  // at the end, interrupted or not
 *     html_free(&h);
 */
#ifndef GUIDEDBP_HTML_H
#define GUIDEDBP_HTML_H

#include <cJSON.h>

#include "pipeline.h"
#include "util/error.h"

enum { HTML_THUMB = 112 };
/* The page is rewritten during a run at most this often, and never taking
 * more than a twentieth of the run: 10,000 rows rewritten after every image
 * would cost quadratic time. */
enum { HTML_REWRITE_MS = 3000, HTML_REWRITE_SHARE = 20 };

typedef struct HtmlPage {
    char *path;        // the page, as given
    char *dir;         // its directory, absolute, normalized lexically
    char *files_name;  // the thumbnails' directory, relative to dir (PAGE_files)
    char *settings;    // the run's settings (JSON), or NULL
    char *csp;         // the Content-Security-Policy, with the hashes of style and script
    char *style, *script;
    char **rows;       // each image's record as JSON, '<' escaped
    int n_rows, cap_rows;
    double written_ms; // when it was last written, ms (CLOCK_MONOTONIC); 0: never
    double cost_ms;    // what that took
} HtmlPage;

/* settings: the run's, as provenance_settings made them, or NULL. */
int html_init(HtmlPage *h, const char *path, const char *settings, Error *e);
void html_free(HtmlPage *h);
/* Adds in's row: record (not taken) gains "page", its thumbnails written
 * from res->crop and res->picture when those are set. -1 with e when a
 * thumbnail cannot be written (the row is added all the same, showing the
 * full-size files) or memory runs out (it is not). */
int html_add(HtmlPage *h, cJSON *record, const Input *in, const Result *res, Error *e);
/* 1 when a rewrite during the run is due at now_ms. */
int html_due(const HtmlPage *h, double now_ms);
/* Writes the page, atomically (fileio.h), its directory made if missing. */
int html_write(HtmlPage *h, Error *e);

#endif
