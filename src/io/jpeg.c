#include "io/jpeg.h"

#include <setjmp.h>
#include <stdio.h> // jpeglib.h needs FILE
#include <stdlib.h>
#include <string.h>

#include <jerror.h> // JWRN_JPEG_EOF
#include <jpeglib.h>

/* libjpeg's own allocations (coefficient buffers of a progressive file,
 * line buffers) may take at most this much: a 64-megapixel progressive
 * CMYK file, the largest the pixel limit lets through, needs 512 MB of
 * coefficients and a few MB more. */
enum { JPEG_MAX_MEMORY = 544 << 20 };

#define STR_(x) #x
#define STR(x) STR_(x)
const char *jpeg_version(void) { return STR(LIBJPEG_TURBO_VERSION); }

/* Everything the error handler and the caller share; reached through the
 * decompressor, so nothing lives only in a register across longjmp. */
typedef struct {
    struct jpeg_error_mgr pub;
    struct jpeg_progress_mgr progress;
    jmp_buf jump;
    char reason[JMSG_LENGTH_MAX];
    int rows_left; // 1 until the last scanline is read
    int truncated; // libjpeg ran out of data before that
    int scans;     // too many: the scan number that stopped it
    JSAMPLE *row;
} Decoder;

static void on_error(j_common_ptr cinfo) {
    Decoder *d = (Decoder *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, d->reason);
    longjmp(d->jump, 1);
}

/* Warnings are ignored, as Pillow's decoder ignores them (its
 * output_message does nothing), except running out of data before the
 * last scanline: libjpeg pads with zeros where Pillow stops and reports a
 * truncated file. */
static void on_message(j_common_ptr cinfo, int level) {
    Decoder *d = (Decoder *)cinfo->err;
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF && d->rows_left) {
        d->truncated = 1;
        longjmp(d->jump, 1);
    }
}

static void on_progress(j_common_ptr cinfo) {
    Decoder *d = (Decoder *)cinfo->err;
    j_decompress_ptr dinfo = (j_decompress_ptr)cinfo;
    if (dinfo->input_scan_number > JPEG_MAX_SCANS) {
        d->scans = dinfo->input_scan_number;
        longjmp(d->jump, 1);
    }
}

/* Pillow 9.4's convert('RGB') of a CMYK pixel (libImaging/Convert.c,
 * cmyk2rgb): each channel nk - c * nk / 255 with nk = 255 - k, the product
 * rounded as its MULDIV255. */
static uint8_t cmyk_channel(int c, int nk) {
    int t = c * nk + 128;
    int v = nk - (((t >> 8) + t) >> 8);
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

static void to_rgb(uint8_t *out, const JSAMPLE *in, int width, int components) {
    for (int x = 0; x < width; x++, out += 3) {
        if (components == 1) {
            out[0] = out[1] = out[2] = in[x];
            continue;
        }
        if (components == 3) {
            memcpy(out, in + 3 * x, 3);
            continue;
        }
        // "CMYK;I": Pillow's C, M, Y, K are 255 minus libjpeg's, so its
        // nk = 255 - K is libjpeg's K as it is.
        const JSAMPLE *p = in + 4 * x;
        for (int c = 0; c < 3; c++) out[c] = cmyk_channel(255 - p[c], p[3]);
    }
}

/* What the marker walk below learns of the frame, for the memory estimate. */
typedef struct {
    int width, height, components;
    int h[4], v[4]; // each component's sampling factors
    int progressive; // SOF2, SOF6, SOF10 or SOF14
    int first_scan;  // components in the first scan
} JpegFrame;

/* Pillow reads a JPEG's markers up to the first scan itself, in Python
 * (JpegImagePlugin.py, JpegImageFile._open), before libjpeg sees it, and
 * refuses some files libjpeg would decode. The same walk: bytes other
 * than 0xFF skipped, 0xFF 0xFF read again as a marker start, 0xFF 0x00
 * skipped; RSTn, SOI, EOI and JPGn stand alone, every other marker from
 * 0xC0 to 0xFE has a length; a marker below 0xC0 (TEM, reserved) is "no
 * marker found"; a segment past the end, a frame header of other than 8
 * bits or 1, 3 or 4 components, and a short DQT table are refused too. */
static int pillow_header_ok(const unsigned char *d, size_t n, const char *name, JpegFrame *f,
                            Error *e) {
    size_t at = 2; // after SOI
    while (at < n) {
        if (d[at] != 0xFF) {
            at++;
            continue;
        }
        if (at + 1 >= n) break;
        unsigned m = d[at + 1];
        if (m == 0xFF) {
            at++;
            continue;
        }
        if (m == 0x00) {
            at += 2;
            continue;
        }
        if (m < 0xC0)
            return error_set(e, "%s: corrupt JPEG (marker 0x%02X before the first scan; Pillow "
                             "refuses it too)", name, m);
        at += 2;
        if (m == 0xC8 || (m >= 0xD0 && m <= 0xD9) || (m >= 0xF0 && m <= 0xFD)) continue;
        if (n - at < 2) break;
        size_t len = (size_t)d[at] << 8 | d[at + 1];
        if (len < 2 || len - 2 > n - at - 2) break;
        const unsigned char *s = d + at + 2;
        size_t sn = len - 2;
        int sof = (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) || m == 0xDE;
        if (sof && (sn < 6 || s[0] != 8 || (s[5] != 1 && s[5] != 3 && s[5] != 4)))
            return error_set(e, "%s: JPEG with %d-bit samples, %d components (Pillow, and so "
                             "guidedbp, reads 8 bits, 1, 3 or 4 components)", name, sn ? s[0] : 0,
                             sn >= 6 ? s[5] : 0);
        if (sof && sn >= 6 + 3 * (size_t)s[5]) {
            f->height = s[1] << 8 | s[2], f->width = s[3] << 8 | s[4], f->components = s[5];
            f->progressive = m == 0xC2 || m == 0xC6 || m == 0xCA || m == 0xCE;
            for (int c = 0; c < s[5]; c++) f->h[c] = s[7 + 3 * c] >> 4, f->v[c] = s[7 + 3 * c] & 15;
        }
        if (m == 0xDA) f->first_scan = sn ? s[0] : 0;
        for (size_t q = 0; m == 0xDB && q < sn;) {
            size_t table = 1 + 64 * (s[q] >> 4 ? 2 : 1);
            if (sn - q < table)
                return error_set(e, "%s: corrupt JPEG (bad quantization table)", name);
            q += table;
        }
        if (m == 0xDA) return 0;
        at += len;
    }
    return error_set(e, "%s: truncated JPEG (the file ends before its first scan)", name);
}

size_t jpeg_decode_memory(const unsigned char *data, size_t size, int64_t max_pixels) {
    JpegFrame f = {0};
    if (pillow_header_ok(data, size, "", &f, NULL) != 0 || f.width == 0 ||
        image_size_ok("", "JPEG", f.width, f.height, max_pixels, NULL) != 0)
        return 0;
    size_t w = (size_t)f.width, h = (size_t)f.height, pixels = w * h * 3 + w * f.components;
    // A file of more than one scan is decoded whole into DCT coefficients
    // first (64 16-bit ones a block, each component's blocks padded to its
    // sampling factors, as libjpeg's coefficient controller allocates them),
    // within libjpeg's bound; one interleaved scan needs a row of blocks.
    if (!f.progressive && f.first_scan >= f.components) return pixels;
    int hmax = 1, vmax = 1;
    for (int c = 0; c < f.components; c++) {
        if (f.h[c] > hmax) hmax = f.h[c];
        if (f.v[c] > vmax) vmax = f.v[c];
    }
    size_t coefficients = 0;
    for (int c = 0; c < f.components; c++) {
        if (f.h[c] < 1 || f.v[c] < 1) return 0; // libjpeg refuses it
        size_t bw = (w * f.h[c] + 8 * hmax - 1) / (8 * hmax), bh = (h * f.v[c] + 8 * vmax - 1) / (8 * vmax);
        bw = (bw + f.h[c] - 1) / f.h[c] * f.h[c], bh = (bh + f.v[c] - 1) / f.v[c] * f.v[c];
        coefficients += bw * bh * 64 * 2;
    }
    return pixels + (coefficients < JPEG_MAX_MEMORY ? coefficients : JPEG_MAX_MEMORY);
}

int jpeg_decode(const unsigned char *data, size_t size, const char *name, int64_t max_pixels,
                Image *img, Error *e) {
    memset(img, 0, sizeof *img);
    JpegFrame frame = {0};
    if (pillow_header_ok(data, size, name, &frame, e) != 0) return -1;
    struct jpeg_decompress_struct cinfo;
    Decoder d = {0};
    cinfo.err = jpeg_std_error(&d.pub);
    d.pub.error_exit = on_error;
    d.pub.emit_message = on_message;
    if (setjmp(d.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(d.row);
        image_free(img);
        if (d.truncated) return error_set(e, "%s: truncated JPEG (the data ends before the image "
                                          "does)", name);
        if (d.scans)
            return error_set(e, "%s: JPEG with more than %d scans, refused (a progressive "
                             "JPEG has a handful)", name, JPEG_MAX_SCANS);
        // libjpeg's "Unsupported JPEG process" (lossless, arithmetic coded,
        // hierarchical) is a kind of JPEG Pillow cannot read either, not damage.
        if (strncmp(d.reason, "Unsupported", 11) == 0)
            return error_set(e, "%s: unsupported kind of JPEG (%s; Pillow cannot read it either)",
                             name, d.reason);
        return error_set(e, "%s: corrupt JPEG (%s)", name, d.reason);
    }
    d.rows_left = 1;
    jpeg_create_decompress(&cinfo);
    cinfo.mem->max_memory_to_use = JPEG_MAX_MEMORY;
    d.progress.progress_monitor = on_progress;
    cinfo.progress = &d.progress;
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    // Tables-only datastreams before the image are read and skipped, as
    // Pillow does; at the end of the data the EOF warning stops this.
    while (jpeg_read_header(&cinfo, FALSE) == JPEG_HEADER_TABLES_ONLY) continue;

    // pillow_header_ok saw the first frame header; libjpeg the one it uses.
    int components = cinfo.num_components;
    if (components != 1 && components != 3 && components != 4) {
        jpeg_destroy_decompress(&cinfo);
        return error_set(e, "%s: JPEG with %d components (Pillow, and so guidedbp, reads 1, 3 "
                         "or 4)", name, components);
    }
    if (image_size_ok(name, "JPEG", (int64_t)cinfo.image_width, (int64_t)cinfo.image_height,
                      max_pixels, e) != 0) {
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    cinfo.out_color_space = components == 1 ? JCS_GRAYSCALE : components == 3 ? JCS_RGB : JCS_CMYK;
    int w = (int)cinfo.image_width, h = (int)cinfo.image_height;
    if (!(img->rgb = malloc((size_t)w * h * 3)) || !(d.row = malloc((size_t)w * components))) {
        jpeg_destroy_decompress(&cinfo);
        free(d.row);
        image_free(img);
        return error_set(e, "%s: out of memory for a %dx%d image", name, w, h);
    }
    img->width = w, img->height = h;

    jpeg_start_decompress(&cinfo);
    // No scaling was asked for and the source never suspends, so libjpeg
    // gives every row at the header's size, one per call.
    JSAMPROW rows[1] = {d.row};
    while ((int)cinfo.output_scanline < h) {
        int y = (int)cinfo.output_scanline;
        if (jpeg_read_scanlines(&cinfo, rows, 1) != 1) {
            snprintf(d.reason, sizeof d.reason, "no row %d", y);
            longjmp(d.jump, 1);
        }
        to_rgb(img->rgb + (size_t)y * w * 3, d.row, w, components);
    }
    d.rows_left = 0;
    // Pillow finishes too; past the last scanline a missing EOI is fine.
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(d.row);
    return 0;
}
