/* stb_image compiled into the fuzz targets, from the header libstb-dev
 * installs (the source Debian's libstb is built from), so that libFuzzer
 * sees its coverage and ASan/UBSan check its memory accesses. Its symbols
 * take the place of libstb.so's for the code linked with it. */
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>
