/* libFuzzer target: image_decode then preprocess_imagenet, the path every
 * input photo takes. stb_image (PNG) is compiled into the target from the
 * same header Debian builds libstb from (test/fuzz/stb_image_impl.c), so its
 * code is instrumented and covered too; libjpeg-turbo (JPEG) is Debian's
 * library, fuzzed upstream, and what guidedbp adds around it (limits, the
 * truncation rule, CMYK) is covered.
 *
 * The pixel limit is FUZZ_MAX_PIXELS rather than the default 64 MP, to keep
 * each input fast; the header checks against the limit are the same code.
 * No single allocation may exceed what the image justifies: 16 bytes a
 * pixel (a 16-bit RGBA PNG's inflated rows, then its samples) plus 4 MB (the
 * 224x224 crop, resize tables); for a refused image, 16 bytes for each pixel
 * the limit allows. More is a bomb. A decoded image's blocks are within
 * image_decode_memory's estimate, too. (The target never calls stb itself:
 * image_decode's checks must come before stb reads anything.)
 *
 * It also builds with MemorySanitizer (FUZZ_MSAN=1 sh test/fuzz/fuzz.sh): only
 * the image sources are linked then, since MSan needs every library that
 * touches the data instrumented, and it found stb decoding with tables the
 * file never defined. JPEG inputs are skipped there: libjpeg-turbo is not
 * instrumented, so MSan would take every byte it writes for uninitialised. */

#include <math.h>

#include <sanitizer/asan_interface.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_ASAN 1
#endif
#endif

#if defined(__has_feature)
#if __has_feature(memory_sanitizer)
#define FUZZ_MSAN 1
#endif
#endif

#include "fuzz_util.h"
#include "io/image.h"
#include "io/preprocess.h"

#define FUZZ_MAX_PIXELS (1 << 16)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static float out[3 * PREPROCESS_SIZE * PREPROCESS_SIZE];
    const char *name = "fuzz.img";
    Image img;
    Error e = {{0}};
#ifdef FUZZ_MSAN
    if (size >= 2 && data[0] == 0xFF && data[1] == 0xD8) return 0;
#endif
    fuzz_track_allocs();
    if (image_decode(data, size, name, FUZZ_MAX_PIXELS, &img, &e) != 0) {
        fuzz_check_message(e.msg, name);
        fuzz_check_alloc(16 * (size_t)FUZZ_MAX_PIXELS + (4 << 20), "refused image");
        return 0;
    }
    if (img.width < 1 || img.height < 1 || (int64_t)img.width * img.height > FUZZ_MAX_PIXELS ||
        !img.rgb)
        abort();
    // The pipeline's decoding budget rests on this estimate: no block the
    // decoders took may be larger than all it says they hold at once.
    fuzz_check_alloc(image_decode_memory(data, size, FUZZ_MAX_PIXELS), "decoding's estimate");
#ifdef FUZZ_ASAN
    // The pixels must be as many as the size says (ASan knows the block's extent).
    if (__asan_region_is_poisoned(img.rgb, (size_t)img.width * img.height * 3)) abort();
#endif
    CropBox box;
    if (preprocess_imagenet(&img, out, &box, &e) == 0) {
        if (box.crop_x < 0 || box.crop_y < 0 || box.crop_x + PREPROCESS_SIZE > box.resized_w ||
            box.crop_y + PREPROCESS_SIZE > box.resized_h)
            abort();
        for (size_t i = 0; i < sizeof out / sizeof out[0]; i++)
            if (!isfinite(out[i]) || fabsf(out[i]) > 3.0f) abort();
    }
    fuzz_check_alloc(16 * (size_t)img.width * img.height + (4 << 20), "decoded image");
    image_free(&img);
    image_free(&img);
    return 0;
}
