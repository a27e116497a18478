/* main.c: the guidedbp command line. Parses the options, loads the weights,
 * runs the pipeline over the inputs (reporting through cli/report.h) and
 * maps what happened to an exit status. The only file that prints usage or
 * calls exit(). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/compare.h"
#include "cli/html.h"
#include "cli/inputs.h"
#include "cli/labels.h"
#include "cli/provenance.h"
#include "cli/report.h"
#include "io/fileio.h"
#include "io/jpeg.h"
#include "nn/gemm.h"
#include "pipeline.h"
#include "util/parallel.h"

/* Set in the run --portable starts (exec_portable). */
#define PORTABLE_ENV "GUIDEDBP_PORTABLE"

enum {
    EXIT_SOME_FAILED = 1, // one or more images could not be read or decoded
    EXIT_USAGE = 2,       // bad arguments
    EXIT_WEIGHTS = 3,     // the weights could not be loaded
    EXIT_IO = 4,          // an output could not be written, or out of memory
    EXIT_SIGNAL = 128,    // + the signal: 130 for SIGINT, 143 for SIGTERM (the shell's rule)
};

/* Set by SIGINT/SIGTERM; the run stops between batches, so every output
 * file is complete or absent. A signal handler can only talk through a
 * global, hence this one. */
static volatile sig_atomic_t interrupted;

/* Says so at once (write is async-signal-safe): the batch in flight may take
 * a while to finish. */
static void on_signal(int sig) {
    static const char msg[] = "\nguidedbp: finishing the images in flight, then stopping "
                              "(a long method stops at its next pass; a second signal stops "
                              "at once)\n";
    interrupted = sig;
    ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)ignored;
}

/* The weights are mapped, not read: a file truncated (or copied over) while
 * a run uses it faults with SIGBUS on the next page. Nothing half-written
 * is left (outputs are renamed into place whole), so say what happened and
 * stop with the weights' status. */
static void on_bus_error(int sig) {
    static const char msg[] = "guidedbp: the weights file changed or was truncated while in use; "
                              "stopping (outputs written so far are complete; replace a weights "
                              "file with mv, never cp over it)\n";
    (void)sig;
    ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)ignored;
    _exit(EXIT_WEIGHTS);
}

/* --portable: the same bits on every x86-64 CPU. guidedbp's own kernels give
 * them already (gemm's one summation order per output, whatever the
 * instruction set), but glibc's libm picks an FMA or AVX2 variant of exp,
 * log and cos where the CPU has one, and those differ from the SSE2 ones in
 * the last bit for some inputs: SmoothGrad's noise, integrated gradients'
 * nodes, random weights and the reported probabilities would follow the
 * CPU. The run is started again with glibc told to use its baseline
 * variants (GLIBC_TUNABLES), libjpeg-turbo its SSE2 code and gemm its SSE2
 * kernel, which every x86-64 CPU runs. Returns only when that cannot be. */
static void exec_portable(char **argv) {
    char tunables[2048];
    const char *old = getenv("GLIBC_TUNABLES");
    snprintf(tunables, sizeof tunables, "%s%s%s", old ? old : "", old ? ":" : "",
             "glibc.cpu.hwcaps=-AVX2,-FMA,-FMA4,-AVX512F,-AVX512VL,-AVX512DQ,-AVX512BW");
    setenv("GLIBC_TUNABLES", tunables, 1);
    setenv("JSIMD_FORCESSE2", "1", 1);
    setenv(GEMM_ISA_ENV, "sse2", 1);
    setenv(PORTABLE_ENV, "1", 1);
    execv("/proc/self/exe", argv);
}

static int usage_error(const Report *r, const char *msg) {
    report_error(r, msg);
    fputs("Try 'guidedbp --help' for more information.\n", stderr);
    return EXIT_USAGE;
}

/* Everything after the options: inputs, weights, the method, the run. */
static int run(const Options *o) {
    Report report = {.out = o->output && strcmp(o->output, "-") == 0 ? stderr : stdout,
                     .json = o->json, .quiet = o->quiet, .check = o->check, .seed = o->seed,
                     .eval = o->eval};
    InputList inputs = {0};
    Weights weights = {0};
    Pipeline pipeline = {0};
    PipelineConfig c = {.style = o->style, .overlay = o->overlay, .class_name = labels_name, .crop = o->crop, .full_size = o->full_size,
                        .npy = o->npy,
                        .skip_existing = o->skip_existing, .target = -1, .check = o->check,
                        .vs = -1, .seed = o->seed, .strip = o->strip, .compare = o->compare,
                        .eval = o->eval, .eval_plot = o->eval_plot, .max_pixels = o->max_pixels,
                        .batch = o->batch, .report = report_result, .group_done = report_group,
                        .report_ctx = &report, .stop = &interrupted};
    PipelineCounts counts = {0};
    HtmlPage page = {0};
    Error err = {0};
    char *settings = NULL;
    int status = 0;
    if (inputs_collect(&inputs, o, &err) != 0) return usage_error(&report, err.msg);
    if (inputs.total == 0) {
        fprintf(stderr, "guidedbp: %s%sno images to process (folders contribute their .png, .jpg "
                        "and .jpeg files%s)\n", o->n_inputs == 1 ? o->inputs[0] : "",
                o->n_inputs == 1 ? ": " : "", o->recursive ? "" : "; -r to look in subfolders");
        status = EXIT_USAGE;
        goto done;
    }
    if ((o->strip || o->eval_plot) && inputs.batch_mode) {
        fprintf(stderr, "guidedbp: %s %s: only with one image\n", o->strip ? "--strip" : "--eval-plot",
                o->strip ? o->strip : o->eval_plot);
        status = EXIT_USAGE;
        goto done;
    }
    char found[1100];
    const char *spec = o->weights;
    if (!spec && cli_find_weights(found, sizeof found, &err) == 0) spec = found;
    if (!spec || weights_load(&weights, spec, &err) != 0) {
        report_error(&report, err.msg);
        if (!o->weights)
            fprintf(stderr, "guidedbp: get torchvision's pretrained AlexNet with 'make weights' "
                            "(or guidedbp-convert a .pth into one of those places), or try the "
                            "tool with --weights random:0\n");
        status = EXIT_WEIGHTS;
        goto done;
    }
    // A resume first clears what killed runs left half-written.
    int stale = o->skip_existing ? inputs_remove_stale_temporaries(&inputs) : 0;
    if (stale && !o->quiet)
        fprintf(stderr, "guidedbp: removed %d temporary file%s that killed runs left (%s*)\n",
                stale, stale == 1 ? "" : "s", FILE_TEMP_PREFIX);
    // Nothing this run writes may replace what it reads.
    const char *reads[] = {strncmp(spec, "random:", 7) == 0 ? NULL : spec, o->files_from};
    const ExtraOutput extras[] = {{"--strip", o->strip}, {"--report", o->report},
                                  {"--eval-plot", o->eval_plot}};
    if (inputs_refuse_overwriting(&inputs, extras, 3, reads, 2, &err) != 0) {
        status = usage_error(&report, err.msg);
        goto done;
    }
    char same_seed[32];
    snprintf(same_seed, sizeof same_seed, "random:%llu", (unsigned long long)o->seed);
    if (o->check == CHECK_RANDOMIZE && strcmp(spec, same_seed) == 0 && !o->quiet)
        fprintf(stderr, "guidedbp: warning: --seed %llu re-draws exactly the weights of %s, so "
                        "nothing will change; choose another --seed\n",
                (unsigned long long)o->seed, spec);
    if (gemm_isa_from_env(&c.isa) != 0) {
        snprintf(err.msg, sizeof err.msg, "%s=%s: not an instruction set this CPU has (sse2 up "
                 "to %s)", GEMM_ISA_ENV, getenv(GEMM_ISA_ENV), gemm_isa_names[gemm_isa_best()]);
        report_error(&report, err.msg);
        status = EXIT_IO;
        goto done;
    }
    const Graph *g = &weights.graph;
    int classes = g->layers[g->n_layers - 1].width;
    if ((o->class_arg && labels_parse("--class", o->class_arg, classes, &c.target, &err) != 0) ||
        (o->vs_arg && labels_parse("--vs", o->vs_arg, classes, &c.vs, &err) != 0) ||
        cli_method_spec(o, g, &c.spec, &err) != 0) {
        status = usage_error(&report, err.msg);
        goto done;
    }
    // Provenance: the weights file's digest and the run's settings.
    char digest[DIGEST_HEX];
    int random = strncmp(spec, "random:", 7) == 0;
    if (!random && provenance_weights_digest(spec, digest, &err) != 0) {
        report_error(&report, err.msg);
        status = EXIT_WEIGHTS;
        goto done;
    }
    settings = provenance_settings(o, spec, random ? NULL : digest, g, &c.spec, c.target, c.vs);
    c.settings = settings, c.software = "guidedbp " GUIDEDBP_VERSION;
    c.results = report_results_text;
    char channel[GRAPH_NAME_LEN + 32];
    if (c.spec.layer >= 0) {
        snprintf(channel, sizeof channel, "channel %d of %s", c.spec.channel,
                 g->layers[c.spec.layer].name);
        report.channel_target = channel;
    }
    c.threads = o->threads ? o->threads : parallel_cpus();
    c.make_dirs = 1; // one image into a missing directory, as a batch
    c.max_memory = o->max_memory;
    c.max_decode_memory = o->max_decode_memory;
    c.keep_pictures = o->report != NULL; // the page's thumbnails
    int init = -1;
    if (!settings || report_init(&report, o->topk, classes, settings, &err) != 0 ||
        (o->report && html_init(&page, o->report, settings, &err) != 0) ||
        (init = pipeline_init(&pipeline, &c, &weights, inputs.n, &err)) != 0) {
        if (!settings) snprintf(err.msg, sizeof err.msg, "out of memory");
        char msg[sizeof err.msg + 1200];
        snprintf(msg, sizeof msg, "%s%s%s", init == PIPELINE_OVER_BUDGET ? spec : "",
                 init == PIPELINE_OVER_BUDGET ? ": " : "", err.msg);
        report_error(&report, msg);
        status = init == PIPELINE_OVER_BUDGET ? EXIT_WEIGHTS : EXIT_IO;
        goto done;
    }
    report.batch_mode = inputs.batch_mode;
    report.progress = inputs.batch_mode && !o->quiet && isatty(STDERR_FILENO);
    struct winsize ws;
    report.columns = ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col : 80;
    report.total = inputs.n;
    report.ignored = inputs.ignored, report.subfolders = inputs.subfolders;
    if (o->report) report.page = &page;
    int ran = pipeline_run(&pipeline, inputs.items, inputs.n, &counts, &err);
    if (ran == PIPELINE_BAD_WEIGHTS) report_error(&report, err.msg);
    // The page lists every image reported, whatever stopped the run.
    Error page_err;
    if (o->report && html_write(&page, &page_err) != 0) {
        report_error(&report, page_err.msg);
        status = EXIT_IO;
    }
    if (report.page_failed) status = EXIT_IO;
    if (ran != 0) status = ran == PIPELINE_BAD_WEIGHTS ? EXIT_WEIGHTS : EXIT_IO;
    if (report.out_failed) {
        fprintf(stderr, "guidedbp: cannot write the records: %s\n", strerror(report.out_failed));
        status = EXIT_IO;
    }
    report_summary(&report, &counts, status == 0 && interrupted);
    if (status == 0 && interrupted) status = EXIT_SIGNAL + interrupted;
    if (status == 0 && counts.failed > 0) status = EXIT_SOME_FAILED;
done:
    free(settings);
    report_free(&report);
    html_free(&page);
    pipeline_free(&pipeline);
    weights_free(&weights);
    inputs_free(&inputs);
    return status;
}

/* What decides the bits of a map, for bug reports and goldens. */
static void print_version(void) {
    GemmIsa isa;
    int env_ok = gemm_isa_from_env(&isa) == 0;
    printf("guidedbp " GUIDEDBP_VERSION "\n");
    printf("gemm: %s%s (this CPU has:", env_ok ? gemm_isa_names[isa] : "?",
           env_ok ? "" : ", " GEMM_ISA_ENV " names none this CPU has");
    for (int i = 0; i < GEMM_ISAS; i++)
        if (gemm_isa_supported((GemmIsa)i)) printf(" %s", gemm_isa_names[i]);
    printf("); the same bits on each\n");
    printf("libjpeg-turbo %s (JPEG), stb_image %s (PNG)\n", jpeg_version(), STB_IMAGE_VERSION);
}

int main(int argc, char **argv) {
    Options o;
    Error err = {0};
    Report quiet = {0};
    if (argc > 1 && strcmp(argv[1], "compare") == 0) { // guidedbp compare GOLDEN ACTUAL
        CompareOptions co;
        switch (compare_parse(argc - 1, argv + 1, &co, &err)) {
        case CLI_HELP: compare_usage(stdout); return 0;
        case CLI_ERROR:
            report_error(&quiet, err.msg);
            fputs("Try 'guidedbp compare --help' for more information.\n", stderr);
            return EXIT_USAGE;
        }
        return compare_run(&co);
    }
    switch (cli_parse(argc, argv, &o, &err)) {
    case CLI_HELP: cli_usage(stdout); return 0;
    case CLI_VERSION: print_version(); return 0;
    case CLI_LIST_CLASSES: labels_list(stdout); return 0;
    case CLI_ERROR: return usage_error(&quiet, err.msg);
    }
    const char *portable = getenv(PORTABLE_ENV);
    if (o.portable && !(portable && strcmp(portable, "1") == 0)) {
        exec_portable(argv);
        fprintf(stderr, "guidedbp: --portable: cannot restart itself: %s\n", strerror(errno));
        return EXIT_IO;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND; // a second signal stops the run at once
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    struct sigaction bus = {.sa_handler = on_bus_error};
    sigemptyset(&bus.sa_mask);
    sigaction(SIGBUS, &bus, NULL);
    int status = run(&o);
    if ((fflush(stdout) != 0 || ferror(stdout)) && status == 0) {
        fprintf(stderr, "guidedbp: cannot write to standard output: %s\n", strerror(errno));
        status = EXIT_IO;
    }
    return status;
}
