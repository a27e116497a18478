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

#include "png.h"

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
typedef struct {
    int w, h, depth, colour, interlace;
    size_t idat; // bytes of compressed image data
} PngHeader;

static int check_png(const unsigned char *d, size_t n, const char *name, PngHeader *hd,
                     Error *e) {
    uint32_t table[256];
    png_crc_table(table);
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
            hd->w = iw > INT32_MAX ? INT32_MAX : (int)iw;
            hd->h = ih > INT32_MAX ? INT32_MAX : (int)ih;
            hd->depth = d[at + 16], hd->colour = d[at + 17], hd->interlace = d[at + 20];
            hd->idat = 0;
        }
        if (strcmp(type, "IDAT") == 0) hd->idat += len;
        if (png_crc32(table, 0, d + at + 4, (size_t)len + 4) != be32(d + at + 8 + len))
            return error_set(e, "%s: corrupt PNG (bad CRC in chunk '%s')", name, type);
        at += 12 + (size_t)len;
        if (strcmp(type, "IEND") == 0) return 0;
    }
}

/* Walks all of a JPEG's marker segments, the scans' entropy-coded data
 * skipped: stb_image 2.27 trusts a DHT segment's code counts (a sum over
 * 256 overflows its tables; progressive files carry DHTs between scans) and
 * decodes a file without Huffman tables into noise, so both are refused
 * here first. */
static int check_jpeg(const unsigned char *d, size_t n, const char *name, Error *e) {
    size_t at = 2;
    int tables = 0, defined[2][4] = {{0}}; // [DC, AC][table id]
    int quant[4] = {0}, frame_quant[256], progressive = 0, frame = 0;
    int scanned[256] = {0}; // per component: 1 once a scan starts its (DC) coefficients
    for (int i = 0; i < 256; i++) frame_quant[i] = -1;
    while (at + 2 <= n) {
        if (d[at] != 0xFF) return error_set(e, "%s: corrupt JPEG (no marker at byte %zu)", name, at);
        unsigned marker = d[at + 1];
        if (marker == 0xFF) { // fill byte
            at++;
            continue;
        }
        if (marker == 0xD9) break; // EOI
        if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) {
            at += 2;
            continue;
        }
        if (n - at < 4) break;
        size_t len = (size_t)d[at + 2] << 8 | d[at + 3];
        if (len < 2 || len > n - at - 2)
            return error_set(e, "%s: truncated JPEG (segment 0x%02X runs past the end)", name,
                             marker);
        if (marker == 0xDB) { // DQT: which quantization tables exist
            for (size_t p = at + 4, end = at + 2 + len; p < end;) {
                size_t size = (d[p] >> 4) ? 129 : 65;
                if ((d[p] & 15) > 3 || size > end - p)
                    return error_set(e, "%s: corrupt JPEG (bad DQT table)", name);
                quant[d[p] & 15] = 1;
                p += size;
            }
        }
        if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 &&
            marker != 0xCC) { // SOF: each component's quantization table
            size_t nc = len >= 8 ? d[at + 9] : 0;
            if (nc < 1 || len != 8 + 3 * nc)
                return error_set(e, "%s: corrupt JPEG (bad frame header)", name);
            for (size_t c = 0; c < nc; c++) frame_quant[d[at + 10 + 3 * c]] = d[at + 12 + 3 * c];
            progressive = marker == 0xC2;
            frame = 1;
        }
        if (marker == 0xDA) {
            // Every table the scan uses must exist: stb 2.27 decodes with an
            // undefined table's garbage (Huffman offsets out of bounds, or a
            // zero quantization table). A baseline scan always uses both
            // Huffman tables; a progressive one DC (Ss = 0) or AC.
            size_t ns = len >= 3 ? d[at + 4] : 0;
            if (!frame || ns < 1 || ns > 4 || len != 6 + 2 * ns)
                return error_set(e, "%s: corrupt JPEG (bad scan header)", name);
            int ss = d[at + 5 + 2 * ns], ah = d[at + 7 + 2 * ns] >> 4;
            for (size_t c = 0; c < ns; c++) {
                int id = d[at + 5 + 2 * c], td = d[at + 6 + 2 * c] >> 4, ta = d[at + 6 + 2 * c] & 15;
                int dc = !progressive || ss == 0, ac = !progressive || ss > 0;
                if (td > 3 || ta > 3 || (dc && !defined[0][td]) || (ac && !defined[1][ta]))
                    return error_set(e, "%s: corrupt JPEG (a scan uses a Huffman table no DHT "
                                     "defined)", name);
                if (frame_quant[id] < 0 || frame_quant[id] > 3 || !quant[frame_quant[id]])
                    return error_set(e, "%s: corrupt JPEG (a component's quantization table "
                                     "is not defined by any DQT)", name);
                // Only a first DC scan (Ah = 0) zeroes a block's coefficients
                // in stb 2.27; a refinement scan before it would refine
                // uninitialised memory (a MemorySanitizer finding).
                if (progressive && !scanned[id] && (ss > 0 || ah > 0))
                    return error_set(e, "%s: corrupt JPEG (a%s scan before its first DC scan)",
                                     name, ss > 0 ? "n AC" : " DC refinement");
                if (dc) scanned[id] = 1;
            }
        }
        if (marker == 0xC4) {
            size_t p = at + 4, end = at + 2 + len;
            while (p < end) {
                if (end - p < 17 || (d[p] >> 4) > 1 || (d[p] & 15) > 3)
                    return error_set(e, "%s: corrupt JPEG (bad DHT table header)", name);
                size_t codes = 0;
                for (int i = 1; i <= 16; i++) codes += d[p + i];
                if (codes > 256 || codes > end - p - 17)
                    return error_set(e, "%s: corrupt JPEG (DHT table with %zu codes)", name, codes);
                defined[d[p] >> 4][d[p] & 15] = 1;
                p += 17 + codes;
                tables++;
            }
        }
        at += 2 + len;
        if (marker == 0xDA) {
            // Entropy-coded data, read as stb reads it: 0xFF, any number of
            // 0xFF fill bytes, then 0x00 (a stuffed byte) or a restart
            // marker; anything else ends the scan (a fuzz finding: taking
            // "FF FF 00" for a marker hid a DHT that stb then trusted).
            while (at + 1 < n) {
                if (d[at] != 0xFF) {
                    at++;
                    continue;
                }
                size_t q = at + 1;
                while (q < n && d[q] == 0xFF) q++;
                if (q < n && (d[q] == 0x00 || (d[q] >= 0xD0 && d[q] <= 0xD7))) {
                    at = q + 1;
                    continue;
                }
                at = q - 1; // the marker's own 0xFF
                break;
            }
        }
    }
    // Like libjpeg, a missing EOI is tolerated once the structure was sound;
    // but stb 2.27 hands out uninitialised memory for a component no scan
    // ever started.
    for (int id = 0; id < 256; id++)
        if (frame_quant[id] >= 0 && !scanned[id])
            return error_set(e, "%s: %s JPEG (no scan for component %d)", name,
                             at + 2 > n ? "truncated" : "corrupt", id);
    return frame ? 0 : error_set(e, "%s: truncated JPEG (no frame)", name);
}

/* Bytes a PNG's image data inflates to: per row a filter byte and the
 * packed samples, for each of the seven passes when interlaced. 0 for a
 * colour type or depth PNG does not have. */
static size_t png_raw_size(const PngHeader *hd) {
    static const int channels[7] = {1, 0, 3, 1, 2, 0, 4};
    if (hd->colour > 6 || !channels[hd->colour] || hd->depth < 1 || hd->depth > 16) return 0;
    size_t bits = (size_t)channels[hd->colour] * (size_t)hd->depth;
    static const int x0[7] = {0, 4, 0, 2, 0, 1, 0}, y0[7] = {0, 0, 4, 0, 2, 0, 1},
                     dx[7] = {8, 8, 4, 4, 2, 2, 1}, dy[7] = {8, 8, 8, 4, 4, 2, 2};
    if (!hd->interlace) return (size_t)hd->h * (1 + ((size_t)hd->w * bits + 7) / 8);
    size_t total = 0;
    for (int p = 0; p < 7; p++) {
        size_t pw = hd->w > x0[p] ? (size_t)(hd->w - x0[p] + dx[p] - 1) / dx[p] : 0;
        size_t ph = hd->h > y0[p] ? (size_t)(hd->h - y0[p] + dy[p] - 1) / dy[p] : 0;
        if (pw && ph) total += ph * (1 + (pw * bits + 7) / 8);
    }
    return total;
}

/* A zlib stream can inflate a thousandfold: stb would grow its buffer to
 * whatever the IDAT chunks hold. Inflating them first into a buffer of
 * exactly the size the header promises refuses such a file in bounded
 * memory (the pixels themselves are then decoded by stb as usual). */
static int check_png_inflate(const unsigned char *d, size_t n, const char *name,
                             const PngHeader *hd, Error *e) {
    size_t raw = png_raw_size(hd);
    if (raw == 0 || raw >= INT32_MAX || hd->idat >= INT32_MAX)
        return error_set(e, "%s: corrupt PNG (colour type %d at %d bits)", name, hd->colour,
                         hd->depth);
    unsigned char *idat = malloc(hd->idat ? hd->idat : 1), *out = malloc(raw + 1);
    if (!idat || !out) {
        free(idat);
        free(out);
        return error_set(e, "%s: out of memory checking its image data", name);
    }
    size_t got = 0;
    for (size_t at = 8; at + 12 <= n;) {
        uint32_t len = be32(d + at);
        if (memcmp(d + at + 4, "IDAT", 4) == 0) memcpy(idat + got, d + at + 8, len), got += len;
        if (memcmp(d + at + 4, "IEND", 4) == 0) break;
        at += 12 + (size_t)len;
    }
    int out_len = stbi_zlib_decode_buffer((char *)out, (int)raw + 1, (const char *)idat, (int)got);
    free(idat);
    free(out);
    if (out_len >= 0) return 0; // less than needed is stb's to report
    if (strcmp(stb_reason(), "output buffer limit") == 0)
        return error_set(e, "%s: corrupt PNG (its image data inflates to more than the %zu "
                         "bytes a %dx%d image needs)", name, raw, hd->w, hd->h);
    return error_set(e, "%s: corrupt PNG data (%s)", name, stb_reason());
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
    int w, h, comp, png = strcmp(format, "PNG") == 0;
    PngHeader hd = {0};
    if (png) {
        if (check_png(data, size, name, &hd, e) != 0) return -1;
        w = hd.w, h = hd.h;
    } else if (check_jpeg(data, size, name, e) != 0) {
        return -1;
    } else if (!stbi_info_from_memory(data, (int)size, &w, &h, &comp)) {
        return error_set(e, "%s: corrupt %s header (%s)", name, format, stb_reason());
    }
    if (w < 1 || h < 1 || w > IMAGE_MAX_SIDE || h > IMAGE_MAX_SIDE ||
        (int64_t)w * h > max_pixels)
        return error_set(e, "%s: %s of %dx%d pixels is outside the limits (at most %d a side, "
                         "%" PRId64 " pixels in all; see --max-pixels)", name, format, w, h,
                         IMAGE_MAX_SIDE, max_pixels);
    if (png && check_png_inflate(data, size, name, &hd, e) != 0) return -1;
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
