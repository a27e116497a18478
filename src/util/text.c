#include "util/text.h"

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

void text_escape_to(FILE *f, const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (is_control(*p)) fprintf(f, "\\x%02x", *p);
        else fputc(*p, f);
    }
}
