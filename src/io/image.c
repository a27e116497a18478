#include "io/image.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stb_image.h>
#include <zlib.h>

#include "io/digest.h"
#include "io/jpeg.h"
#include "io/png.h"

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
    int64_t file_w, file_h; // as the file says them, for messages (up to 2^32 - 1)
    size_t idat; // bytes of compressed image data
    int palette; // PLTE's entries
    int trns;    // a tRNS chunk: stb decodes an alpha channel
    size_t plte; // PLTE chunk's offset in the file, 0 if none
} PngHeader;

static int png_walk_chunks(const unsigned char *d, size_t n, const char *name, PngHeader *hd,
                           Error *e) {
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
            hd->file_w = iw, hd->file_h = ih;
            hd->depth = d[at + 16], hd->colour = d[at + 17], hd->interlace = d[at + 20];
            hd->idat = 0;
        }
        if (strcmp(type, "IDAT") == 0) hd->idat += len;
        if (strcmp(type, "PLTE") == 0) hd->palette = (int)(len / 3), hd->plte = at;
        if (strcmp(type, "tRNS") == 0) hd->trns = 1;
        // Apple's CgBI variant: its data is raw deflate, which stb switches
        // to past the inflate check below; Pillow cannot read it either.
        if (strcmp(type, "CgBI") == 0)
            return error_set(e, "%s: Apple's CgBI PNG (iOS-optimised, not a standard PNG; Pillow "
                             "cannot read it either)", name);
        if (png_crc32(0, d + at + 4, (size_t)len + 4) != be32(d + at + 8 + len))
            return error_set(e, "%s: corrupt PNG (bad CRC in chunk '%s')", name, type);
        at += 12 + (size_t)len;
        if (strcmp(type, "IEND") == 0) return 0;
    }
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
 * whatever the IDAT chunks hold. Inflating them first with zlib, counting
 * the bytes into a small window, refuses such a file in bounded memory
 * before stb allocates anything. zlib is also Pillow's inflater: a stream
 * it refuses (a bad Adler-32, which stb never checks) Pillow refuses too,
 * "broken data stream". The pixels are then decoded by stb as usual. */
static int refuse_inflate_bomb(const unsigned char *d, size_t n, const char *name,
                             const PngHeader *hd, Error *e) {
    size_t raw = png_raw_size(hd);
    if (raw == 0)
        return error_set(e, "%s: corrupt PNG (colour type %d at %d bits)", name, hd->colour,
                         hd->depth);
    // stb_image counts bytes in an int.
    if (raw >= INT32_MAX || hd->idat >= INT32_MAX)
        return error_set(e, "%s: PNG of %dx%d at %d bits, colour type %d: its %zu MB of pixel data "
                         "is more than the PNG decoder takes (2 GB); convert it to 8 bits or "
                         "fewer pixels", name, hd->w, hd->h, hd->depth, hd->colour, raw >> 20);
    z_stream z = {0};
    if (inflateInit(&z) != Z_OK)
        return error_set(e, "%s: out of memory checking its image data", name);
    unsigned char window[1 << 15];
    size_t out = 0;
    int rc = Z_OK;
    for (size_t at = 8; at + 12 <= n && rc == Z_OK && out <= raw;) {
        uint32_t len = be32(d + at);
        if (memcmp(d + at + 4, "IEND", 4) == 0) break;
        if (memcmp(d + at + 4, "IDAT", 4) == 0) {
            z.next_in = (unsigned char *)(uintptr_t)(d + at + 8), z.avail_in = len;
            while (rc == Z_OK && z.avail_in > 0 && out <= raw) {
                z.next_out = window, z.avail_out = sizeof window;
                rc = inflate(&z, Z_NO_FLUSH);
                out += sizeof window - z.avail_out;
            }
            if (rc == Z_BUF_ERROR) rc = Z_OK; // this chunk is used up; on to the next
        }
        at += 12 + (size_t)len;
    }
    const char *why = z.msg ? z.msg : "zlib error";
    inflateEnd(&z);
    if (out > raw)
        return error_set(e, "%s: corrupt PNG (its image data inflates to more than the %zu "
                         "bytes a %dx%d image needs)", name, raw, hd->w, hd->h);
    if (rc != Z_OK && rc != Z_STREAM_END) return error_set(e, "%s: corrupt PNG data (%s)", name, why);
    return 0; // less than needed is stb's to report
}

/* A palette shorter than its depth allows: an index past it is, to
 * Pillow, the grey (i, i, i) (its palettes start as a grey ramp), while
 * stb reads memory it never wrote, so one file could give different maps.
 * The copy in *out (malloc'd) has the PLTE padded to 2^depth entries
 * (at most 256) with that ramp, its CRC recomputed; 0, or -1 out of memory. */
static int pad_palette(const unsigned char *d, size_t n, const PngHeader *hd, unsigned char **out,
                       size_t *out_n) {
    int want = hd->depth >= 8 ? 256 : 1 << hd->depth;
    size_t old = 12 + be32(d + hd->plte), len = (size_t)want * 3;
    unsigned char *p = malloc(n - old + 12 + len);
    if (!p) return -1;
    memcpy(p, d, hd->plte);
    unsigned char *c = p + hd->plte;
    c[0] = (unsigned char)(len >> 24), c[1] = (unsigned char)(len >> 16);
    c[2] = (unsigned char)(len >> 8), c[3] = (unsigned char)len;
    memcpy(c + 4, "PLTE", 4);
    memcpy(c + 8, d + hd->plte + 8, (size_t)hd->palette * 3);
    for (int i = hd->palette; i < want; i++) c[8 + 3 * i] = c[9 + 3 * i] = c[10 + 3 * i] = (unsigned char)i;
    uint32_t crc = png_crc32(0, c + 4, len + 4);
    c[8 + len] = (unsigned char)(crc >> 24), c[9 + len] = (unsigned char)(crc >> 16);
    c[10 + len] = (unsigned char)(crc >> 8), c[11 + len] = (unsigned char)crc;
    memcpy(c + 12 + len, d + hd->plte + old, n - hd->plte - old);
    *out = p, *out_n = n - old + 12 + len;
    return 0;
}

/* A 16-bit grey PNG as Pillow's mode I then convert('RGB'): each sample
 * clipped to 255 and replicated. */
static int decode_gray16(const unsigned char *data, size_t size, const char *name,
                         const PngHeader *hd, Image *img, Error *e) {
    int w, h, comp;
    uint16_t *grey = stbi_load_16_from_memory(data, (int)size, &w, &h, &comp, 1);
    if (!grey) return error_set(e, "%s: corrupt PNG data (%s)", name, stb_reason());
    if (w != hd->w || h != hd->h) {
        free(grey);
        return error_set(e, "%s: PNG header and data disagree on the size", name);
    }
    if (!(img->rgb = malloc((size_t)w * h * 3))) {
        free(grey);
        return error_set(e, "%s: out of memory for a %dx%d image", name, w, h);
    }
    for (size_t i = 0; i < (size_t)w * h; i++) {
        uint8_t v = grey[i] > 255 ? 255 : (uint8_t)grey[i];
        img->clipped += grey[i] > 255;
        img->rgb[3 * i] = img->rgb[3 * i + 1] = img->rgb[3 * i + 2] = v;
    }
    free(grey);
    img->width = w, img->height = h;
    return 0;
}

/* Does decode_png copy the file to pad its palette? */
static int palette_short(const PngHeader *hd) {
    return hd->colour == 3 && hd->plte && hd->palette < (hd->depth >= 8 ? 256 : 1 << hd->depth);
}

static size_t max2(size_t a, size_t b) { return a > b ? a : b; }

/* What decoding a PNG holds at once beside the file, stage by stage (as
 * test_decode_memory measures them): stb's compressed data, grown by doubling, and the
 * inflated rows; those and the image at the file's channels (twice that
 * for an interlaced one: its passes are images too); a palette's expansion; the
 * conversion to RGB; from 16 bits to 8. Once freed, the inflated rows stay
 * resident if glibc's heap served them (blocks up to 32 MB, its largest
 * mmap threshold; bigger ones are unmapped when freed). */
static size_t png_decode_memory(const PngHeader *hd) {
    static const int channels[7] = {1, 0, 3, 1, 2, 0, 4};
    enum { HEAP_KEEPS = 32 << 20 };
    size_t raw = png_raw_size(hd);
    if (raw == 0) return 0;
    size_t px = (size_t)hd->w * hd->h, bps = hd->depth == 16 ? 2 : 1, rgb = px * 3;
    size_t n = (size_t)channels[hd->colour] + (hd->trns && hd->colour != 3);
    size_t image = px * n * bps, kept = raw <= HEAP_KEEPS ? raw : 0;
    size_t peak = max2(2 * hd->idat + raw, raw + image * (hd->interlace ? 2 : 1));
    if (hd->colour == 3) return max2(peak, raw + image + rgb);
    if (hd->depth == 16 && hd->colour == 0) { // decode_gray16: to 16-bit grey, then RGB
        if (n != 1) peak = max2(peak, kept + image + px * 2);
        return max2(peak, kept + px * 2 + rgb);
    }
    if (n != 3) peak = max2(peak, kept + image + rgb * bps);
    if (bps == 2) peak = max2(peak, kept + rgb * 2 + rgb);
    return peak;
}

size_t image_decode_memory(const unsigned char *data, size_t size, int64_t max_pixels) {
    const char *format = sniff(data, size);
    size_t decoder = 0;
    PngHeader hd = {0};
    if (!format || size > IMAGE_MAX_FILE_BYTES) return size; // refused before decoding
    if (strcmp(format, "JPEG") == 0) {
        decoder = jpeg_decode_memory(data, size, max_pixels);
    } else if (png_walk_chunks(data, size, "", &hd, NULL) == 0 &&
               image_size_ok("", format, hd.file_w, hd.file_h, max_pixels, NULL) == 0) {
        decoder = png_decode_memory(&hd) + (palette_short(&hd) ? size : 0);
    }
    return size + (decoder ? decoder + IMAGE_DECODE_SLACK : 0);
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
    if (strcmp(format, "JPEG") == 0) return jpeg_decode(data, size, name, max_pixels, img, e);
    PngHeader hd = {0};
    if (png_walk_chunks(data, size, name, &hd, e) != 0 ||
        image_size_ok(name, format, hd.file_w, hd.file_h, max_pixels, e) != 0)
        return -1;
    if (refuse_inflate_bomb(data, size, name, &hd, e) != 0) return -1;
    // Asking stb for 3 channels gives PIL's convert('RGB') for every PNG
    // colour type, and 8-bit output keeps the high byte of 16-bit data.
    int dw, dh, comp;
    if (hd.depth == 16 && hd.colour == 0) return decode_gray16(data, size, name, &hd, img, e);
    unsigned char *padded = NULL;
    if (palette_short(&hd)) {
        if (pad_palette(data, size, &hd, &padded, &size) != 0)
            return error_set(e, "%s: out of memory for its palette", name);
        data = padded;
    }
    img->rgb = stbi_load_from_memory(data, (int)size, &dw, &dh, &comp, 3);
    free(padded);
    // (comp is the file's channel count; the pixels are RGB as asked.)
    if (!img->rgb)
        return error_set(e, "%s: corrupt %s data (%s)", name, format, stb_reason());
    if (dw != hd.w || dh != hd.h) {
        image_free(img);
        return error_set(e, "%s: %s header and data disagree on the size", name, format);
    }
    img->width = dw;
    img->height = dh;
    return 0;
}

/* All of standard input, up to the file size limit. */
static int read_stdin(unsigned char **data, size_t *size, Error *e) {
    size_t cap = 1 << 16;
    *size = 0;
    if (!(*data = malloc(cap))) return error_set(e, "-: out of memory reading standard input");
    for (;;) {
        size_t got = fread(*data + *size, 1, cap - *size, stdin);
        *size += got;
        if (got == 0) break;
        if (*size == cap) {
            unsigned char *more = cap < IMAGE_MAX_FILE_BYTES ? realloc(*data, cap * 2) : NULL;
            if (!more) {
                free(*data);
                *data = NULL;
                return cap < IMAGE_MAX_FILE_BYTES
                           ? error_set(e, "-: out of memory reading standard input")
                           : error_set(e, "-: standard input holds more than the %d MB limit for "
                                          "an image", IMAGE_MAX_FILE_BYTES >> 20);
            }
            *data = more, cap *= 2;
        }
    }
    if (ferror(stdin) || *size == 0) {
        int failed = ferror(stdin);
        free(*data);
        *data = NULL;
        return failed ? error_set(e, "-: cannot read standard input: %s", strerror(errno))
                      : error_set(e, "-: empty file");
    }
    return 0;
}

int image_read(const char *path, unsigned char **data, size_t *size, char *sha256, Error *e) {
    *data = NULL, *size = 0;
    if ((strcmp(path, "-") == 0 ? read_stdin(data, size, e) : read_file(path, data, size, e)) != 0)
        return -1;
    if (sha256) digest_bytes(*data, *size, sha256);
    return 0;
}

int image_load(const char *path, int64_t max_pixels, Image *img, Error *e) {
    memset(img, 0, sizeof *img);
    unsigned char *data;
    size_t size;
    if (image_read(path, &data, &size, NULL, e) != 0) return -1;
    int rc = image_decode(data, size, path, max_pixels, img, e);
    free(data);
    return rc;
}
