#include "util/text.h"

#include <stdlib.h>
#include <string.h>

static int is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }

void text_join(char *out, size_t len, const char *const *names, int n, const char *quote,
               const char *last) {
    size_t used = 0;
    if (len) out[0] = '\0';
    for (int i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(out + used, len - used, "%s%s%s%s",
                                 i == 0 ? "" : i == n - 1 ? last : ", ", quote, names[i], quote);
}

void text_wrap(FILE *f, const char *text, int col, int indent, int width) {
    const char *p = text;
    while (*p) {
        int word = (int)strcspn(p, " ");
        if (col > indent && col + 1 + word >= width) {
            fprintf(f, "\n%*s", indent, "");
            col = indent;
        } else if (col > indent) {
            fputc(' ', f);
            col++;
        }
        fprintf(f, "%.*s", word, p);
        col += word;
        p += word;
        while (*p == ' ') p++;
    }
    fputc('\n', f);
}

char *text_path_join(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    int slash = a > 0 && dir[a - 1] != '/';
    char *p = malloc(a + (size_t)slash + b + 1);
    if (!p) return NULL;
    memcpy(p, dir, a);
    if (slash) p[a] = '/';
    memcpy(p + a + slash, name, b + 1);
    return p;
}

int text_index(const char *s, const char *const *names, int first, int n) {
    for (int i = first; i < n; i++)
        if (strcmp(s, names[i]) == 0) return i;
    return -1;
}

void text_quote(char *out, size_t len, const char *s) {
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (o + 8 > len) { // room for one more escape and "..."
            memcpy(out + o, "...", 4);
            return;
        }
        if (is_control(*p) || *p == '\\') o += (size_t)snprintf(out + o, len - o, "\\x%02x", *p);
        else out[o++] = (char)*p;
    }
    out[o] = '\0';
}

/* The length of the valid UTF-8 sequence at p (1 to 4), or 0 if p does not
 * start one (overlong forms, surrogates and code points past U+10FFFF are
 * not valid). */
static int utf8_length(const unsigned char *p) {
    if (p[0] < 0x80) return 1;
    int n = p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 && p[0] < 0xe0 ? 2 : 0;
    if (n == 0) return 0;
    for (int i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80) return 0;
    if (n == 3 && ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0))) return 0;
    if (n == 4 && ((p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90))) return 0;
    return n;
}

char *text_json_string(const char *s) {
    // At most 6 bytes ("\udcXX") for each byte, the quotes and the NUL.
    size_t n = strlen(s);
    char *out = malloc(6 * n + 3), *o = out;
    if (!out) return NULL;
    *o++ = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int len = utf8_length(p);
        if (*p == '"' || *p == '\\') {
            *o++ = '\\', *o++ = (char)*p++;
        } else if (len == 1 && is_control(*p)) {
            o += sprintf(o, "\\u%04x", *p++);
        } else if (len == 0) {
            o += sprintf(o, "\\udc%02x", *p++);
        } else {
            memcpy(o, p, (size_t)len);
            o += len, p += len;
        }
    }
    *o++ = '"';
    *o = '\0';
    return out;
}

void text_escape_to(FILE *f, const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (is_control(*p)) fprintf(f, "\\x%02x", *p);
        else fputc(*p, f);
    }
}
