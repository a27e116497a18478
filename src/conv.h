/* conv.h: 2-D convolution as im2col + OpenBLAS sgemm (darknet's recipe).
 *
 * Layout is PyTorch's: x (C, H, W), y (OC, OH, OW), w (OC, C, K, K), b (OC),
 * float32 row-major, one image (or n, below). Square kernels, equal stride
 * and padding on both axes, as every AlexNet/VGG convolution has. `col` is
 * caller-owned scratch (conv_col_size); the kernels never allocate. All the
 * work runs on up to `threads` threads with bitwise the same result for any
 * count; the GEMMs expect OpenBLAS itself to be single-threaded
 * (openblas_set_num_threads(1)).
 *
 *   forward:        y = w * x + b
 *   backward_input: dx = col2im(w^T . dy)   (no weight gradients: we only
 *                   ever need the gradient with respect to the image)
 */
#ifndef GUIDEDBP_CONV_H
#define GUIDEDBP_CONV_H

#include <stddef.h>

typedef struct {
    int in_c, in_h, in_w;
    int out_c, out_h, out_w;
    int k, stride, pad;
} ConvShape;

/* Fills out_h/out_w from the other fields (PyTorch's floor rule); returns -1
 * when the kernel does not fit the padded input. */
int conv_shape_init(ConvShape *s);
/* Scratch for one image, in floats; the batch functions take
 * min(n, CONV_GROUP) times as much. */
size_t conv_col_size(const ConvShape *s);

void conv2d_forward(float *y, const float *x, const float *w, const float *b,
                    const ConvShape *s, float *col, int threads);
void conv2d_backward_input(float *dx, const float *dy, const float *w,
                           const ConvShape *s, float *col, int threads);

/* The same for n images, x/dx (n, C, H, W) and y/dy (n, OC, OH, OW): each
 * image gets exactly the bits the one-image functions give it, but the
 * threads share the tiles of CONV_GROUP images at a time (one image of
 * AlexNet's later layers makes only 2-3 forward tiles). */
enum { CONV_GROUP = 4 };
void conv2d_forward_batch(float *y, const float *x, int n, const float *w, const float *b,
                          const ConvShape *s, float *col, int threads);
void conv2d_backward_input_batch(float *dx, const float *dy, int n, const float *w,
                                 const ConvShape *s, float *col, int threads);

/* The OPENBLAS_CORETYPE this CPU could run with, or NULL when OpenBLAS's
 * own choice stands (or the variable is already set). OpenBLAS picks its
 * kernels when it is loaded, from a table of CPU models; on a model newer
 * than the library (Debian's 0.3.21 on recent Xeons) it falls back to its
 * SSE3 "Prescott" kernels, 3-6x slower than the AVX2/AVX-512 ones the CPU
 * supports. guidedbp does not switch by itself: the faster kernels need not
 * give identical im2col columns (flat image regions) identical bits (with
 * Haswell's, 4590 of 179776 conv1 outputs of a flat image differ from the
 * rest of their channel; with Prescott's, none), and max pooling then
 * breaks PyTorch's exact ties differently (integrated gradients on the tiny
 * test model, which meets such ties near its black baseline: 3.7e-3 off
 * with SkylakeX's kernels instead of 2e-7). `make bench` names the core. */
const char *conv_blas_better_core(void);

/* OpenBLAS sizes its thread pool when it is loaded. We never use its
 * threads (see parallel.h), but it starts one per CPU, which spin for about
 * 0.1 s (35 ms of a 140 ms one-image run here). So when
 * OPENBLAS_NUM_THREADS is unset, this runs the same program again
 * (/proc/self/exe, the same argv) with it set to 1, before anything else
 * has happened; the new process finds it set and goes on. Returns when
 * there is nothing to do or the exec failed (then all is as before, only
 * slower). Call it first thing in main. */
void conv_blas_reexec(char **argv);

#endif
