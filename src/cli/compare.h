/* compare.h: `guidedbp compare [OPTIONS] GOLDEN ACTUAL`, maps held to their
 * goldens: two PNG or .npy files, or two directories compared file by file
 * (every .png and .npy under GOLDEN, recursively, against the same relative
 * path under ACTUAL, as a batch run mirrors its inputs; a file on one side
 * only is a failure). The measures and their limits are explain/mapdiff.h's.
 *
 * compare_parse reads the options after the word "compare" (argv[0]), as
 * cli_parse does: it prints nothing, allocates nothing, and returns CLI_RUN,
 * CLI_HELP, or CLI_ERROR with e saying why. compare_run compares and reports
 * (a line per pair on stdout, or with --json a JSON record per pair; a
 * summary on stderr) and returns the exit status below; main.c exits with it.
 */
#ifndef GUIDEDBP_COMPARE_H
#define GUIDEDBP_COMPARE_H

#include <stdio.h>

#include "cli/cli.h"
#include "explain/mapdiff.h"
#include "util/error.h"

enum {
    COMPARE_PASSED = 0, // every pair within the limits
    COMPARE_FAILED = 1, // some pair beyond them, unreadable, or on one side only
    COMPARE_USAGE = 2,  // bad option, missing path, a file against a directory
    COMPARE_IO = 4,     // the report could not be written to standard output
};

typedef struct {
    const char *golden, *actual; // the operands (argv's own)
    MapDiffLimits limits;
    int json;
} CompareOptions;

int compare_parse(int argc, char **argv, CompareOptions *o, Error *e);
void compare_usage(FILE *f);
int compare_run(const CompareOptions *o);

#endif
