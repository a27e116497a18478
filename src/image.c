#include "image.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stb_image.h>

static int read_file(const char *path, unsigned char **data, size_t *size, Error *e) {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused
    // below like any other file that is not a regular one.
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    if (fd < 0) return error_set(e, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return error_set(e, "%s: not a regular file", path);
    }
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return error_set(e, "%s: cannot open: %s", path, strerror(errno));
    }
    if (st.st_size == 0) {
        fclose(f);
        return error_set(e, "%s: empty file", path);
    }
    if (st.st_size > IMAGE_MAX_FILE_BYTES) {
        fclose(f);
        return error_set(e, "%s: file is %lld bytes, more than the %d MB limit for an image",
                         path, (long long)st.st_size, IMAGE_MAX_FILE_BYTES >> 20);
    }
    *size = (size_t)st.st_size;
    if (!(*data = malloc(*size))) {
        fclose(f);
        return error_set(e, "%s: out of memory reading %zu bytes", path, *size);
    }
    size_t got = fread(*data, 1, *size, f);
    int failed = ferror(f);
    fclose(f);
    if (got != *size || failed) {
        free(*data);
        *data = NULL;
        return error_set(e, "%s: read error after %zu of %zu bytes", path, got, *size);
    }
    return 0;
}

/* stb's reason for the last failure, never empty. */
static const char *stb_reason(void) {
    const char *r = stbi_failure_reason();
    return r && *r ? r : "no reason given";
}

static const char *sniff(const unsigned char *d, size_t n) {
    static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (n >= 8 && memcmp(d, png, 8) == 0) return "PNG";
    if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) return "JPEG";
    return NULL;
}

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Walks a PNG's chunks before stb sees it: stb ignores CRCs (PIL refuses a
 * file whose CRC is wrong, and so do we), and its own size limits would
 * word a decompression bomb as a corrupt header. Gives IHDR's size. */
static int check_png(const unsigned char *d, size_t n, const char *name, int *w, int *h,
                     Error *e) {
    uint32_t table[256];
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    size_t at = 8;
    for (int chunk = 0;; chunk++) {
        if (n - at < 12)
            return error_set(e, "%s: truncated PNG (no IEND chunk after %zu bytes)", name, at);
        uint32_t len = be32(d + at);
        char type[5] = {(char)d[at + 4], (char)d[at + 5], (char)d[at + 6], (char)d[at + 7], 0};
        for (int i = 0; i < 4; i++)
            if (!((type[i] >= 'A' && type[i] <= 'Z') || (type[i] >= 'a' && type[i] <= 'z')))
                return error_set(e, "%s: corrupt PNG (chunk %d has no valid type)", name, chunk);
        if (len > n - at - 12)
            return error_set(e, "%s: truncated PNG (chunk '%s' runs past the end)", name, type);
        if (chunk == 0) {
            if (strcmp(type, "IHDR") != 0 || len != 13)
                return error_set(e, "%s: corrupt PNG (the first chunk is not IHDR)", name);
            uint32_t iw = be32(d + at + 8), ih = be32(d + at + 12);
            *w = iw > INT32_MAX ? INT32_MAX : (int)iw;
            *h = ih > INT32_MAX ? INT32_MAX : (int)ih;
        }
        uint32_t crc = 0xFFFFFFFFu;
        for (size_t i = at + 4; i < at + 8 + len; i++) crc = table[(crc ^ d[i]) & 0xFF] ^ (crc >> 8);
        if ((crc ^ 0xFFFFFFFFu) != be32(d + at + 8 + len))
            return error_set(e, "%s: corrupt PNG (bad CRC in chunk '%s')", name, type);
        at += 12 + (size_t)len;
        if (strcmp(type, "IEND") == 0) return 0;
    }
}

int image_decode(const unsigned char *data, size_t size, const char *name, int64_t max_pixels,
                 Image *img, Error *e) {
    memset(img, 0, sizeof *img);
    const char *format = sniff(data, size);
    if (!format)
        return error_set(e, "%s: unsupported image format (guidedbp reads PNG and JPEG)", name);
    if (size > IMAGE_MAX_FILE_BYTES)
        return error_set(e, "%s: %zu bytes, more than the %d MB limit for an image", name, size,
                         IMAGE_MAX_FILE_BYTES >> 20);
    int w, h, comp;
    if (strcmp(format, "PNG") == 0) {
        if (check_png(data, size, name, &w, &h, e) != 0) return -1;
    } else if (!stbi_info_from_memory(data, (int)size, &w, &h, &comp)) {
        return error_set(e, "%s: corrupt %s header (%s)", name, format, stb_reason());
    }
    if (w < 1 || h < 1 || w > IMAGE_MAX_SIDE || h > IMAGE_MAX_SIDE ||
        (int64_t)w * h > max_pixels)
        return error_set(e, "%s: %s of %dx%d pixels is outside the limits (at most %d a side, "
                         "%" PRId64 " pixels in all; see --max-pixels)", name, format, w, h,
                         IMAGE_MAX_SIDE, max_pixels);
    // Asking stb for 3 channels gives PIL's convert('RGB') for every PNG and
    // JPEG colour type, and 8-bit output keeps the high byte of 16-bit data.
    int dw, dh;
    img->rgb = stbi_load_from_memory(data, (int)size, &dw, &dh, &comp, 3);
    // (comp is the file's channel count; the pixels are RGB as asked.)
    if (!img->rgb)
        return error_set(e, "%s: corrupt %s data (%s)", name, format, stb_reason());
    if (dw != w || dh != h) {
        image_free(img);
        return error_set(e, "%s: %s header and data disagree on the size", name, format);
    }
    img->width = dw;
    img->height = dh;
    return 0;
}

int image_load(const char *path, int64_t max_pixels, Image *img, Error *e) {
    memset(img, 0, sizeof *img);
    unsigned char *data = NULL;
    size_t size = 0;
    if (read_file(path, &data, &size, e) != 0) return -1;
    int rc = image_decode(data, size, path, max_pixels, img, e);
    free(data);
    return rc;
}

void image_free(Image *img) {
    if (!img) return;
    free(img->rgb); // stb_image allocates with malloc (STBI_MALLOC is not overridden)
    memset(img, 0, sizeof *img);
}
