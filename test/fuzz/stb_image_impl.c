/* stb_image (and stb_image_write, which io/png.c links in) compiled into the
 * fuzz targets, from the headers libstb-dev installs (the source Debian's
 * libstb is built from), so that libFuzzer sees their coverage and the
 * sanitizers check their memory accesses (MemorySanitizer needs every
 * linked byte instrumented). Their symbols take the place of libstb.so's
 * for the code linked with them. */
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>
