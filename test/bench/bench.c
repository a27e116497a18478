/* bench.c: where guidedbp's time goes on this machine (`make bench`).
 *
 *   build/bench [WEIGHTS [THREADS]]
 *
 * WEIGHTS defaults to $GUIDEDBP_WEIGHTS, else the default weights guidedbp finds
 * (cli_find_weights), else random:0 (same shapes and work; held in memory rather than
 * mmap'd, which only changes the RSS). Prints, for the current machine: the
 * gemm peak it measures, ms per layer forward and backward, ms per image
 * for each stage, images/s by batch size, peak RSS, and the ratio of the
 * measured times to the floor those measurements imply. Every number is the
 * median of several runs. A benchmark, not a test: it asserts nothing, but
 * it says so when its layer-by-layer replay (net_forward_layer,
 * net_backward_layer) and net_forward/net_backward disagree. Throughput is
 * explain_run's, the call the command line makes.
 */
#define _DEFAULT_SOURCE // wait4, getloadavg
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "explain/explain.h"
#include "explain/render.h"
#include "io/image.h"
#include "io/png.h"
#include "io/preprocess.h"
#include "nn/net.h"
#include "util/parallel.h"

enum { REPS = 5, MAX_BATCH = 32 };
static const int batches[] = {1, 2, 4, 8, 16, 32};
#define N_BATCHES ((int)(sizeof batches / sizeof *batches))
static const char *const image_path = "test/fixtures/images/cat.png";

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ------------------------------------------------------------- gemm peak */

typedef struct {
    int n;
    GemmIsa isa;
    float *a[PARALLEL_MAX_THREADS], *b[PARALLEL_MAX_THREADS], *c[PARALLEL_MAX_THREADS];
} PeakGemm;

static void peak_task(void *ctx, int t) {
    PeakGemm *p = ctx;
    int n = p->n;
    gemm(p->isa, p->c[t], n, p->a[t], n, 1, p->b[t], n, NULL, n, n, n);
}

/* GFLOP/s of `threads` independent single-threaded n^3 gemms run at once. */
static double gemm_gflops(GemmIsa isa, int n, int threads) {
    PeakGemm p = {.n = n, .isa = isa};
    size_t nn = (size_t)n * n;
    for (int t = 0; t < threads; t++) {
        p.a[t] = malloc(nn * sizeof(float));
        p.b[t] = malloc(nn * sizeof(float));
        p.c[t] = malloc(nn * sizeof(float));
        for (size_t i = 0; i < nn; i++) p.a[t][i] = (float)(i % 7) * 0.1f, p.b[t][i] = (float)(i % 5) * 0.1f;
    }
    double best = 1e30;
    for (int r = 0; r < REPS; r++) {
        double t0 = now_ms();
        parallel_for(threads, threads, peak_task, &p);
        double ms = now_ms() - t0;
        best = ms < best ? ms : best;
    }
    for (int t = 0; t < threads; t++) free(p.a[t]), free(p.b[t]), free(p.c[t]);
    return 2.0 * n * nn * threads / best / 1e6;
}

/* ------------------------------------------------- memory read bandwidth */

enum { STREAM_CHUNK = 1 << 18, MAX_LINEAR = 8 };

typedef struct {
    const float *p[MAX_LINEAR];
    size_t n[MAX_LINEAR], chunks[MAX_LINEAR];
    float sums[4096];
} Stream;

static void stream_task(void *ctx, int task) {
    Stream *s = ctx;
    int t = task, l = 0;
    while (l < MAX_LINEAR && (size_t)t >= s->chunks[l]) t -= (int)s->chunks[l++];
    size_t begin = (size_t)t * STREAM_CHUNK, end = begin + STREAM_CHUNK;
    if (end > s->n[l]) end = s->n[l];
    float acc[16] = {0};
    for (size_t i = begin; i + 16 <= end; i += 16)
        for (int k = 0; k < 16; k++) acc[k] += s->p[l][i + k];
    for (int k = 1; k < 16; k++) acc[0] += acc[k];
    s->sums[task % 4096] = acc[0];
}

/* GB/s reading the linear layers' weights once on every thread. */
static double fc_read_gbs(const Net *net, int threads, double *fc_bytes) {
    Stream s = {0};
    int tasks = 0, f = 0;
    *fc_bytes = 0;
    for (int i = 0; i < net->graph.n_layers; i++) {
        const Layer *l = &net->graph.layers[i];
        if (l->kind != LAYER_LINEAR || f == MAX_LINEAR) continue;
        s.p[f] = net->weights->w[i];
        s.n[f] = (size_t)l->in_c * l->out_c;
        s.chunks[f] = (s.n[f] + STREAM_CHUNK - 1) / STREAM_CHUNK;
        tasks += (int)s.chunks[f];
        *fc_bytes += (double)s.n[f] * sizeof(float);
        f++;
    }
    double t[REPS];
    for (int r = 0; r < REPS; r++) {
        double t0 = now_ms();
        parallel_for(tasks, threads, stream_task, &s);
        t[r] = now_ms() - t0;
    }
    return *fc_bytes / median(t, REPS) / 1e6;
}

/* ------------------------------------- the network, one layer at a time */

static double layer_gflop(const Layer *l) {
    if (l->kind == LAYER_CONV)
        return 2.0 * l->out_c * l->out_h * l->out_w * l->in_c * l->conv.k * l->conv.k / 1e9;
    if (l->kind == LAYER_LINEAR) return 2.0 * l->in_c * l->out_c / 1e9;
    return 0;
}

/* ------------------------------------------------------------------ jobs */

typedef struct {
    Weights *w;
    int threads, targets[MAX_BATCH];
    GemmIsa isa;
    float *image; // (3, 224, 224), the preprocessed photo
} Bench;

static void fill_batch(Net *net, const Bench *bb, int n) {
    size_t sz = net->size[0];
    for (int b = 0; b < n; b++) {
        // Each image a little different, so no two share their ReLU masks.
        float *x = net_input(net, b);
        for (size_t i = 0; i < sz; i++) x[i] = bb->image[(i + (size_t)b * 7919) % sz];
    }
}

static const MethodSpec guided = {.method = METHOD_GUIDED, .guide = GUIDE_FEATURES, .layer = -1};

/* Median ms per image of explain_run (guided, the predicted class) at batch
 * n, and of its forward pass alone; bwd is the rest (the method). */
static double network_ms(const Bench *bb, int n, double *fwd, double *bwd) {
    Explainer x;
    Error e = {0};
    if (explain_init(&x, bb->w, &guided, n, bb->threads, bb->isa, &e) != 0) {
        fprintf(stderr, "bench: %s\n", e.msg);
        exit(1);
    }
    size_t sz = x.net.size[0];
    for (int b = 0; b < n; b++) // each image a little different, as in fill_batch
        for (size_t i = 0; i < sz; i++)
            explain_input(&x, b)[i] = bb->image[(i + (size_t)b * 7919) % sz];
    double f[REPS], t[REPS];
    explain_run(&x, n, -1, &e);
    for (int r = 0; r < REPS; r++) {
        double t0 = now_ms();
        net_forward(&x.net, n);
        double t1 = now_ms();
        if (explain_run(&x, n, -1, &e) != 0) {
            fprintf(stderr, "bench: %s\n", e.msg);
            exit(1);
        }
        f[r] = (t1 - t0) / n;
        t[r] = (now_ms() - t1) / n;
    }
    explain_free(&x);
    *fwd = median(f, REPS);
    double total = median(t, REPS);
    *bwd = total - *fwd;
    return total;
}

/* The per-layer table at batch n; returns 0 when the replay matched. */
static int layer_table(const Bench *bb, int n) {
    Net net, ref;
    Error e = {0};
    if (net_init(&net, bb->w, PREPROCESS_SIZE, PREPROCESS_SIZE, n, bb->threads, bb->isa, &e) != 0 ||
        net_init(&ref, bb->w, PREPROCESS_SIZE, PREPROCESS_SIZE, n, bb->threads, bb->isa, &e) != 0) {
        fprintf(stderr, "bench: %s\n", e.msg);
        exit(1);
    }
    fill_batch(&net, bb, n);
    fill_batch(&ref, bb, n);
    int L = net.graph.n_layers;
    static double tf[GRAPH_MAX_LAYERS][REPS], tb[GRAPH_MAX_LAYERS][REPS];
    for (int r = -1; r < REPS; r++) {
        for (int i = 0; i < L; i++) {
            double t0 = now_ms();
            net_forward_layer(&net, i, n);
            if (r >= 0) tf[i][r] = now_ms() - t0;
        }
        net_seed_classes(&net, n, bb->targets);
        char reached[GRAPH_MAX_LAYERS + 1] = {0};
        for (int i = L - 1; i >= 0; i--) {
            const Layer *l = &net.graph.layers[i];
            double t0 = now_ms();
            net_backward_layer(&net, i, n, l->conv_part ? RELU_GUIDED : RELU_PLAIN, reached);
            if (r >= 0) tb[i][r] = now_ms() - t0;
        }
    }
    net_forward(&ref, n);
    net_backward(&ref, n, bb->targets, GUIDE_FEATURES);
    int same = memcmp(net_logits(&net, 0), net_logits(&ref, 0),
                      sizeof(float) * n * net.size[L]) == 0 &&
               memcmp(net_input_grad(&net, 0), net_input_grad(&ref, 0),
                      sizeof(float) * n * net.size[0]) == 0;

    printf("\nper layer, batch %d, ms per image (median of %d):\n", n, REPS);
    printf("  %-14s %-13s %8s %8s %8s %9s %9s\n", "layer", "output", "GFLOP", "fwd ms", "bwd ms",
           "fwd GF/s", "bwd GF/s");
    double sf = 0, sb = 0;
    for (int i = 0; i < L; i++) {
        const Layer *l = &net.graph.layers[i];
        double f = median(tf[i], REPS) / n, b = median(tb[i], REPS) / n, gf = layer_gflop(l);
        char shape[32];
        snprintf(shape, sizeof shape, "%dx%dx%d", l->out_c, l->out_h, l->out_w);
        printf("  %-14s %-13s %8.3f %8.3f %8.3f", l->name, shape, gf, f, b);
        if (gf > 0) printf(" %9.1f %9.1f", gf / f * 1e3, gf / b * 1e3);
        printf("\n");
        sf += f, sb += b;
    }
    printf("  %-14s %-13s %8s %8.3f %8.3f\n", "total", "", "", sf, sb);
    if (!same) printf("  NOTE: this replay differs from net_forward/net_backward (net.c changed?)\n");
    net_free(&net);
    net_free(&ref);
    return same ? 0 : -1;
}

/* ResNet-18 and -50 (random:ARCH:0, the same work as trained weights):
 * explain_run's ms per image by batch size. */
static void resnets(Bench *bb, double pre_ms, double post_ms) {
    static const char *const archs[] = {"resnet18", "resnet50"};
    static const int sizes[] = {1, 2, 4};
    printf("\nResNets (random:ARCH:0; network: explain_run, guided; end to end adds the same "
           "load+preprocess and normalize+PNG):\n");
    printf("  %-9s %5s %9s %9s %9s %11s %11s\n", "model", "batch", "fwd ms", "bwd ms", "net ms",
           "net img/s", "e2e img/s");
    Weights *alexnet = bb->w;
    for (size_t a = 0; a < sizeof archs / sizeof *archs; a++) {
        char spec[32];
        Weights w;
        Error e = {0};
        snprintf(spec, sizeof spec, "random:%s:0", archs[a]);
        if (weights_load(&w, spec, &e) != 0) {
            fprintf(stderr, "bench: %s\n", e.msg);
            exit(1);
        }
        bb->w = &w;
        for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
            double f, b, ms = network_ms(bb, sizes[k], &f, &b);
            printf("  %-9s %5d %9.2f %9.2f %9.2f %11.1f %11.1f\n", archs[a], sizes[k], f, b, ms,
                   1e3 / ms, 1e3 / (ms + pre_ms + post_ms));
        }
        weights_free(&w);
    }
    bb->w = alexnet;
}

/* Peak RSS in MB of a fresh process (this program, re-run with "--rss")
 * that loads the weights and runs one batch of n. */
static double child_rss_mb(const char *self, const char *weights, int n, int threads) {
    char nb[16], tb[16];
    snprintf(nb, sizeof nb, "%d", n);
    snprintf(tb, sizeof tb, "%d", threads);
    pid_t pid = fork();
    if (pid == 0) {
        execl(self, self, "--rss", weights, nb, tb, (char *)NULL);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (pid < 0 || wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
        return -1;
    return ru.ru_maxrss / 1024.0;
}

static int rss_child(const char *weights, int n, int threads) {
    Weights w;
    Explainer x;
    Error e = {0};
    GemmIsa isa;
    if (gemm_isa_from_env(&isa) != 0 || weights_load(&w, weights, &e) != 0 ||
        explain_init(&x, &w, &guided, n, threads, isa, &e) != 0)
        return 1;
    memset(x.inputs, 0, sizeof(float) * (size_t)n * x.net.size[0]);
    int rc = explain_run(&x, n, -1, &e);
    explain_free(&x);
    weights_free(&w);
    return rc != 0;
}

static void cpu_name(char *out, size_t size) {
    snprintf(out, size, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[256];
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "model name", 10) == 0 && strchr(line, ':')) {
            snprintf(out, size, "%s", strchr(line, ':') + 2);
            out[strcspn(out, "\n")] = '\0';
            break;
        }
    fclose(f);
}

int main(int argc, char **argv) {
    if (argc == 5 && strcmp(argv[1], "--rss") == 0)
        return rss_child(argv[2], atoi(argv[3]), atoi(argv[4]));
    struct stat st;
    const char *weights = argc > 1 ? argv[1] : getenv("GUIDEDBP_WEIGHTS");
    char found[1100];
    Error none;
    if (!weights) weights = cli_find_weights(found, sizeof found, &none) == 0 ? found : "random:0";
    Bench bb = {.threads = argc > 2 ? atoi(argv[2]) : parallel_cpus()};
    if (bb.threads < 1) bb.threads = 1;
    Weights w;
    Error e = {0};
    double t0 = now_ms();
    if (weights_load(&w, weights, &e) != 0) {
        fprintf(stderr, "bench: %s\n", e.msg);
        return 1;
    }
    double load_ms = now_ms() - t0;
    bb.w = &w;

    char cpu[128];
    cpu_name(cpu, sizeof cpu);
    double load[3] = {0};
    getloadavg(load, 3);
    printf("machine: %s, %d threads used of %d CPUs, load average %.2f\n", cpu, bb.threads,
           parallel_cpus(), load[0]);
    if (gemm_isa_from_env(&bb.isa) != 0) {
        fprintf(stderr, "bench: %s names no instruction set this CPU has\n", GEMM_ISA_ENV);
        return 1;
    }
    printf("gemm: %s\n", gemm_isa_names[bb.isa]);
    printf("weights: %s (loaded and checked in %.1f ms)\n", weights, load_ms);

    double peak1 = 0, peak = 0;
    for (int n = 256; n <= 1024; n *= 2) {
        double g1 = gemm_gflops(bb.isa, n, 1), gt = gemm_gflops(bb.isa, n, bb.threads);
        peak1 = g1 > peak1 ? g1 : peak1;
        peak = gt > peak ? gt : peak;
    }
    printf("gemm peak: %.1f GFLOP/s on 1 thread, %.1f on %d (best of 256^3, 512^3, 1024^3)\n",
           peak1, peak, bb.threads);

    // The photo, preprocessed; and the time the stages around the network take.
    Image img = {0};
    double pre[REPS], post[REPS];
    bb.image = malloc(sizeof(float) * 3 * PREPROCESS_SIZE * PREPROCESS_SIZE);
    uint8_t *rgb = malloc(3 * PREPROCESS_SIZE * PREPROCESS_SIZE);
    char png[] = "/tmp/guidedbp_bench_XXXXXX";
    int have_image = stat(image_path, &st) == 0 && mkdtemp(png) != NULL;
    char png_path[64];
    snprintf(png_path, sizeof png_path, "%s/map.png", png);
    for (int r = 0; r < REPS && have_image; r++) {
        double a = now_ms();
        if (image_load(image_path, IMAGE_MAX_PIXELS, &img, &e) != 0 ||
            preprocess_imagenet(&img, bb.image, NULL, &e) != 0) {
            fprintf(stderr, "bench: %s\n", e.msg);
            return 1;
        }
        image_free(&img);
        double b = now_ms();
        // Any map will do for timing the last stage: the image's values.
        render_color(rgb, bb.image, PREPROCESS_SIZE, PREPROCESS_SIZE);
        if (png_write(png_path, rgb, PREPROCESS_SIZE, PREPROCESS_SIZE, 3, 0, NULL, 0, &e) != 0) {
            fprintf(stderr, "bench: %s\n", e.msg);
            return 1;
        }
        pre[r] = b - a;
        post[r] = now_ms() - b;
    }
    if (have_image) {
        remove(png_path);
        rmdir(png);
    } else {
        for (size_t i = 0; i < (size_t)3 * PREPROCESS_SIZE * PREPROCESS_SIZE; i++)
            bb.image[i] = (float)(i % 255) / 64.0f - 2.0f;
        pre[0] = post[0] = 0;
    }
    double pre_ms = have_image ? median(pre, REPS) : 0, post_ms = have_image ? median(post, REPS) : 0;
    Net probe;
    if (net_init(&probe, &w, PREPROCESS_SIZE, PREPROCESS_SIZE, 1, bb.threads, bb.isa, &e) != 0) {
        fprintf(stderr, "bench: %s\n", e.msg);
        return 1;
    }
    for (int b = 0; b < MAX_BATCH; b++) bb.targets[b] = (281 + 37 * b) % net_classes(&probe);
    double fc_bytes, gbs = fc_read_gbs(&probe, bb.threads, &fc_bytes), gflop = 0;
    for (int i = 0; i < probe.graph.n_layers; i++) gflop += 2 * layer_gflop(&probe.graph.layers[i]);
    net_free(&probe);
    printf("memory: %.1f GB/s reading the %.0f MB of linear weights on %d threads\n", gbs,
           fc_bytes / 1e6, bb.threads);

    int replay_ok = layer_table(&bb, 1) == 0;

    double ms[N_BATCHES], fwd[N_BATCHES], bwd[N_BATCHES];
    int best = 0;
    printf("\nthroughput (network: explain_run, guided: forward, backward, the map; end to end adds %s's load+preprocess and "
           "the map's normalize+PNG):\n", have_image ? image_path : "(no image)");
    printf("  %5s %9s %9s %9s %11s %11s\n", "batch", "fwd ms", "bwd ms", "net ms", "net img/s",
           "e2e img/s");
    for (int k = 0; k < N_BATCHES; k++) {
        ms[k] = network_ms(&bb, batches[k], &fwd[k], &bwd[k]);
        if (ms[k] < ms[best]) best = k;
        printf("  %5d %9.2f %9.2f %9.2f %11.1f %11.1f\n", batches[k], fwd[k], bwd[k], ms[k],
               1e3 / ms[k], 1e3 / (ms[k] + pre_ms + post_ms));
    }
    if (best != 0) replay_ok &= layer_table(&bb, batches[best]) == 0;

    printf("\nper image at batch 1: preprocess %.2f ms, forward %.2f ms, backward %.2f ms, "
           "normalize+PNG %.2f ms\n", pre_ms, fwd[0], bwd[0], post_ms);
    printf("best batch: %d (%.1f images/s network, %.1f end to end)\n", batches[best],
           1e3 / ms[best], 1e3 / (ms[best] + pre_ms + post_ms));

    double rss1 = child_rss_mb("/proc/self/exe", weights, 1, bb.threads);
    double rssb = child_rss_mb("/proc/self/exe", weights, batches[best], bb.threads);
    printf("peak RSS (load weights, one batch): batch 1 %.0f MB, batch %d %.0f MB\n", rss1,
           batches[best], rssb);

    double floor_c = gflop / peak * 1e3, floor_1 = floor_c + 2 * fc_bytes / gbs / 1e6;
    printf("\nfloor (%.2f GFLOP per image at the %.0f GFLOP/s gemm peak): %.2f ms per image\n",
           gflop, peak, floor_c);
    printf("  best batch %d: network %.2f ms = %.2fx the compute floor; end to end %.2fx\n",
           batches[best], ms[best], ms[best] / floor_c, (ms[best] + pre_ms + post_ms) / floor_c);
    printf("  batch 1 (floor + the linear weights read twice at %.1f GB/s = %.2f ms): network "
           "%.2f ms = %.2fx; end to end %.2fx\n", gbs, floor_1, ms[0], ms[0] / floor_1,
           (ms[0] + pre_ms + post_ms) / floor_1);
    if (!replay_ok) printf("NOTE: the per-layer replay did not match the network's own passes\n");
    resnets(&bb, pre_ms, post_ms);
    free(bb.image);
    free(rgb);
    weights_free(&w);
    return 0;
}
