/* text.h: strings shown to people: name lists and untrusted bytes.
 *
 * File names, tensor names and metadata come from strangers. Every control
 * byte (a newline, a terminal escape) is shown as \xNN, never sent raw, so a
 * message stays one line and cannot drive the terminal; printable bytes,
 * UTF-8 included, are kept. Two uses of that one rule:
 *   text_quote      a stranger's string inside a message: '\' is escaped
 *                   too, so the result is unambiguous, and a long one is cut
 *                   with "..."
 *   text_escape_to  a whole message on its way to stderr, which may hold
 *                   quoted strings already: only control bytes
 */
#ifndef GUIDEDBP_TEXT_H
#define GUIDEDBP_TEXT_H

#include <stddef.h>
#include <stdio.h>

/* names[0], names[1], ... each between `quote`s, joined by ", " and by
 * `last` before the last one ("a, b or c"), into out (truncated to len). */
void text_join(char *out, size_t len, const char *const *names, int n, const char *quote,
               const char *last);
/* text on f from column `col`, words wrapped before column `width`, each
 * new line indented to `indent`; ends with a newline. */
void text_wrap(FILE *f, const char *text, int col, int indent, int width);
/* dir and name joined by one '/' (none added after a dir ending in '/', or
 * an empty dir): malloc'd, NULL when out of memory. */
char *text_path_join(const char *dir, const char *name);
/* The index of s in names[first, n), or -1: how a name table is parsed. */
int text_index(const char *s, const char *const *names, int first, int n);
/* s quoted into out, at most len bytes with its terminator (len >= 8). */
void text_quote(char *out, size_t len, const char *s);
void text_escape_to(FILE *f, const char *s);
/* s as a JSON string literal, quotes included (malloc'd; NULL when out of
 * memory), valid UTF-8 whatever s holds: a file name is bytes, not text.
 * '"', '\' and control bytes are escaped as JSON does; valid UTF-8 is kept;
 * each byte that is not part of valid UTF-8 becomes \udcXX, XX the byte
 * (Python's "surrogateescape": json.loads(r)["input"].encode("utf-8",
 * "surrogateescape") gives the bytes back). */
char *text_json_string(const char *s);

#endif
