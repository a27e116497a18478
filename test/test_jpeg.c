/* JPEG decoding against Pillow: test/fixtures/jpeg/ (test/gen/fixtures_jpeg.py)
 * holds JPEGs of every kind (baseline and progressive, every chroma
 * subsampling, restart markers, arithmetic coding, grey, CMYK and YCCK, odd
 * sizes, EXIF orientation, corrupt and truncated data) with what Pillow 9.4
 * made of each under the recipe's Image.open(p).convert('RGB'): its RGB
 * bytes, or its refusal. guidedbp must give the same bytes, or refuse too,
 * with a message that names the file. A missing fixture is a failure. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "files.h"
#include "manifest.h"
#include "io/image.h"
#include "test.h"

#define DIR "test/fixtures/jpeg/"

static cJSON *manifest;

/* The bytes of DIR name, exactly `size` of them (NULL otherwise). */
static unsigned char *read_exactly(const char *name, size_t size) {
    char path[512];
    snprintf(path, sizeof path, DIR "%s", name);
    FILE *f = fopen(path, "rb");
    unsigned char *data = f ? malloc(size + 1) : NULL;
    size_t got = data ? fread(data, 1, size + 1, f) : 0;
    if (f) fclose(f);
    if (data && got == size) return data;
    free(data);
    return NULL;
}

static void test_manifest_is_present(void) {
    char *text = slurp(DIR "manifest.json");
    CHECK_MSG(text != NULL, DIR "manifest.json is missing (run make fixtures)");
    manifest = text ? cJSON_Parse(text) : NULL;
    free(text);
    CHECK_MSG(manifest && cJSON_GetArraySize(cJSON_GetObjectItem(manifest, "cases")) >= 60,
              "the manifest lists too few cases");
}

static void test_decoded_as_pillow_decodes(void) {
    const cJSON *c;
    int decoded = 0, refused = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(manifest, "cases")) {
        const char *file = str(c, "file");
        const cJSON *pillow = cJSON_GetObjectItem(c, "pillow");
        CHECK_MSG(file && pillow, "incomplete manifest entry");
        if (!file || !pillow) continue;
        char path[512];
        snprintf(path, sizeof path, DIR "%s", file);
        Image img;
        Error e = {0};
        int rc = image_load(path, IMAGE_MAX_PIXELS, &img, &e);
        if (!cJSON_IsTrue(cJSON_GetObjectItem(pillow, "ok"))) {
            refused++;
            CHECK_MSG(rc != 0, "%s: decoded, but Pillow refuses it (%s)", file,
                      str(pillow, "error"));
            CHECK_MSG(rc == 0 || strncmp(e.msg, path, strlen(path)) == 0,
                      "%s: the message does not name the file: %s", file, e.msg);
            if (rc != 0) printf("  %-40s refused: %s\n", file, e.msg + strlen(path) + 2);
            image_free(&img);
            continue;
        }
        decoded++;
        CHECK_MSG(rc == 0, "%s: refused, but Pillow decodes it: %s", file, e.msg);
        if (rc != 0) continue;
        const cJSON *w = cJSON_GetObjectItem(pillow, "width"), *h = cJSON_GetObjectItem(pillow, "height");
        size_t size = (size_t)img.width * img.height * 3;
        unsigned char *ref = str(pillow, "rgb") ? read_exactly(str(pillow, "rgb"), size) : NULL;
        CHECK_MSG(cJSON_IsNumber(w) && cJSON_IsNumber(h) && img.width == w->valueint &&
                      img.height == h->valueint,
                  "%s: %dx%d, Pillow's is %dx%d", file, img.width, img.height,
                  cJSON_IsNumber(w) ? w->valueint : -1, cJSON_IsNumber(h) ? h->valueint : -1);
        CHECK_MSG(ref != NULL, "%s: Pillow's pixels (%s) missing or not %zu bytes", file,
                  str(pillow, "rgb") ? str(pillow, "rgb") : "?", size);
        if (ref) {
            size_t differ = 0;
            for (size_t i = 0; i < size; i++) differ += img.rgb[i] != ref[i];
            CHECK_MSG(differ == 0, "%s: %zu of %zu bytes differ from Pillow's", file, differ, size);
        }
        free(ref);
        image_free(&img);
    }
    printf("  %d decoded as Pillow decodes them, %d refused as Pillow refuses them\n", decoded,
           refused);
}

int main(void) {
    RUN(test_manifest_is_present);
    if (manifest) RUN(test_decoded_as_pillow_decodes);
    cJSON_Delete(manifest);
    return test_summary();
}
