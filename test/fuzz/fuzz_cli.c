/* libFuzzer target: cli_parse on an argv made from the input, split at NUL
 * bytes (argv[0] is "guidedbp"). On success every value must be within
 * the ranges cli.h promises, and a --class value goes through labels_parse
 * (for ImageNet's 1000 classes and for a 10-class model); on failure the
 * message must say something. */

#include "cli/cli.h"
#include "fuzz_util.h"
#include "io/image.h"
#include "cli/labels.h"
#include "pipeline.h"
#include "util/parallel.h"

enum { MAX_ARGS = 64 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 4096) return 0;
    char *buf = malloc(size + 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = "guidedbp";
    for (size_t i = 0; i <= size && argc < MAX_ARGS + 1;) {
        argv[argc++] = buf + i;
        i += strlen(buf + i) + 1;
    }
    argv[argc] = NULL;
    char *copy[MAX_ARGS + 2];
    memcpy(copy, argv, sizeof copy); // getopt may permute argv; the strings stay put

    Options o;
    Error e = {{0}};
    int rc = cli_parse(argc, argv, &o, &e);
    if (rc == CLI_ERROR) {
        if (!e.msg[0] || strlen(e.msg) >= sizeof e.msg) abort();
    } else if (rc == CLI_RUN) {
        if (o.n_inputs < 0 || o.n_inputs > argc - 1 || (o.n_inputs == 0 && !o.files_from)) abort();
        for (int i = 0; i < o.n_inputs; i++) {
            int found = 0;
            for (int k = 1; k < argc && !found; k++) found = o.inputs[i] == copy[k];
            if (!found) abort();
        }
        if (o.topk < 0 || o.threads < 0 || o.threads > PARALLEL_MAX_THREADS || o.batch < 1 ||
            o.batch > PIPELINE_MAX_BATCH || o.shard < 0 || o.shard >= o.shards ||
            o.max_pixels < 1 || o.max_pixels > (int64_t)IMAGE_MAX_SIDE * IMAGE_MAX_SIDE)
            abort(); // o.weights may be NULL: the default is searched for (cli_find_weights)
        static const int classes[2] = {1000, 10};
        for (int i = 0; o.class_arg && i < 2; i++) {
            int index = -1;
            Error le = {{0}};
            if (labels_parse("--class", o.class_arg, classes[i], &index, &le) == 0) {
                if (index < 0 || index >= classes[i]) abort();
            } else if (!le.msg[0]) {
                abort();
            }
        }
    } else if (rc != CLI_HELP && rc != CLI_VERSION && rc != CLI_LIST_CLASSES) {
        abort();
    }
    free(buf);
    return 0;
}
