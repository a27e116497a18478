/* fuzz_util.h: helpers shared by the libFuzzer targets (test/fuzz/fuzz_*.c).
 *
 * fuzz_path: the loaders under test take a path, so each input is written to
 * one memfd made on the first call and opened again through
 * /proc/self/fd/N. That costs two syscalls per input, and nothing touches a
 * disk (a file in /dev/shm measured the same but can be left behind).
 *
 * Allocation budget: ASan's malloc hook records the largest single
 * allocation of each input; a target calls fuzz_check_alloc with what the
 * input may legitimately need, so a decompression bomb that fits under
 * -malloc_limit_mb is still reported, as an abort that names the sizes.
 */
#ifndef GUIDEDBP_FUZZ_UTIL_H
#define GUIDEDBP_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sanitizer/allocator_interface.h>

static size_t fuzz_largest_alloc;

static void fuzz_malloc_hook(const volatile void *ptr, size_t size) {
    (void)ptr;
    if (size > fuzz_largest_alloc) fuzz_largest_alloc = size;
}

static void fuzz_free_hook(const volatile void *ptr) { (void)ptr; }

/* Under MemorySanitizer the hook sees sizes it reports as uninitialised
 * (its allocator's own calls), so the budget is ASan's job only. */
static void fuzz_track_allocs(void) {
#if defined(__has_feature)
#if __has_feature(memory_sanitizer)
    return;
#endif
#endif
    static int installed;
    if (!installed) {
        __sanitizer_install_malloc_and_free_hooks(fuzz_malloc_hook, fuzz_free_hook);
        installed = 1;
    }
    fuzz_largest_alloc = 0;
}

static void fuzz_check_alloc(size_t budget, const char *what) {
    if (fuzz_largest_alloc > budget) {
        fprintf(stderr, "FUZZ FINDING: %s: a single allocation of %zu bytes, budget %zu\n", what,
                fuzz_largest_alloc, budget);
        abort();
    }
}

/* A path whose file holds exactly data[0, size). */
static const char *fuzz_path(const uint8_t *data, size_t size) {
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz-input", 0);
        if (fd < 0) {
            perror("memfd_create");
            abort();
        }
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0) abort();
    size_t done = 0;
    while (done < size) {
        ssize_t n = pwrite(fd, data + done, size - done, (off_t)done);
        if (n <= 0) abort();
        done += (size_t)n;
    }
    return path;
}

/* Every refusal names its file first: "<path>: ...". (Strings quoted from
 * the file may hold any byte; src/main.c prints messages escaped.) */
static void fuzz_check_message(const char *msg, const char *path) {
    size_t n = strlen(path);
    if (strncmp(msg, path, n) != 0 || msg[n] != ':') {
        fprintf(stderr, "FUZZ FINDING: message does not start with %s: %s\n", path, msg);
        abort();
    }
}

#endif
