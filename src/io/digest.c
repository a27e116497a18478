#include "io/digest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/sha2.h>

static void to_hex(struct sha256_ctx *ctx, char hex[DIGEST_HEX]) {
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_digest(ctx, sizeof d, d);
    for (int i = 0; i < SHA256_DIGEST_SIZE; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

void digest_bytes(const void *data, size_t len, char hex[DIGEST_HEX]) {
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    sha256_update(&ctx, len, data);
    to_hex(&ctx, hex);
}

int digest_file(const char *path, char hex[DIGEST_HEX], Error *e) {
    enum { CHUNK = 1 << 20 };
    FILE *f = fopen(path, "rb");
    if (!f) return error_set(e, "%s: cannot open: %s", path, strerror(errno));
    uint8_t *buf = malloc(CHUNK);
    if (!buf) {
        fclose(f);
        return error_set(e, "%s: out of memory", path);
    }
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    size_t n;
    while ((n = fread(buf, 1, CHUNK, f)) > 0) sha256_update(&ctx, n, buf);
    int failed = ferror(f);
    free(buf);
    fclose(f);
    if (failed) return error_set(e, "%s: read error", path);
    to_hex(&ctx, hex);
    return 0;
}
