/* digest.h: SHA-256, the identity of the files a map was made from.
 *
 * A map's provenance names the weights and the input by their SHA-256, so
 * that --skip-existing can tell an output made from other bytes under the
 * same name. Nettle computes it (with the CPU's SHA instructions where it
 * has them: 244 MB of AlexNet weights in 0.18 s on a Zen 3, against 1.5 s
 * for coreutils' portable code).
 */
#ifndef GUIDEDBP_DIGEST_H
#define GUIDEDBP_DIGEST_H

#include <stddef.h>

#include "util/error.h"

/* Hex digits of a digest, and the NUL after them. */
enum { DIGEST_HEX = 64 + 1 };

void digest_bytes(const void *data, size_t len, char hex[DIGEST_HEX]);
/* The whole file's; -1 (e names the file) when it cannot be read. */
int digest_file(const char *path, char hex[DIGEST_HEX], Error *e);

#endif
