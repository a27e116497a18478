/* inputs.h: from the command line's IMAGE, DIR and --files-from arguments
 * to the sorted list of images to process and the files each one writes.
 *
 * Directories contribute their .png/.jpg/.jpeg files (any case), and with
 * `recursive` those of their subdirectories (symbolic links to directories
 * are not followed, so a link loop cannot trap the walk). The list is sorted
 * by path (byte order), then cut to the shard: input k of the sorted list
 * belongs to shard k mod shards.
 *
 * Outputs are named by cli_output_name (<name>_<method>[_<style>].png, or
 * --name's template). In single mode (one IMAGE argument, no directory, no
 * --files-from, and `output` not a directory) `output` is the PNG's path,
 * by default that name in the current directory. Otherwise `output` is a
 * directory and each image writes <output>/<its folders below its DIR
 * argument>/<name>.png; an IMAGE argument, or a --files-from line that is
 * absolute or climbs with "..", writes <output>/<name>.png; other
 * --files-from lines keep their relative folders. With --base DIR, every
 * named image (argument or line) keeps its folders below DIR, and one not
 * below it is refused. Each Input's index is its place in the sorted list
 * of all shards. With npy, FILE.npy goes beside each FILE.png.
 *
 * Refused before any work, with e saying which inputs: two inputs that
 * would write the same file, and an output that is one of the inputs.
 */
#ifndef GUIDEDBP_INPUTS_H
#define GUIDEDBP_INPUTS_H

#include "cli/cli.h"
#include "pipeline.h"
#include "util/error.h"

/* The most images one run takes (a list of paths costs about 100 bytes
 * each in memory; 10 million is 1 GB): more is surely not a list. */
enum { INPUTS_MAX = 10 * 1000 * 1000 };

typedef struct {
    Input *items; // (n), sorted by path, this shard only
    int n, cap;
    int total;    // inputs in all shards
    int ignored;  // files in the DIRs scanned that are not .png/.jpg/.jpeg
    int subfolders; // subfolders not entered (no -r)
    int batch_mode;
} InputList;

/* Everything the list holds is owned by it; inputs_free releases it. */
int inputs_collect(InputList *list, const Options *o, Error *e);
/* An output beside the maps: the option that names it ("--strip") and its
 * path (NULL: not asked for). */
typedef struct {
    const char *option, *path;
} ExtraOutput;
/* Refuses (-1, e naming both) a run whose outputs (each PNG and .npy, and
 * the n_extra `extras`) would overwrite one another, an input image or a
 * file it reads: the n `reads` (the weights file, --files-from's list;
 * NULL entries are skipped), compared by path and by inode. */
int inputs_refuse_overwriting(const InputList *list, const ExtraOutput *extras, int n_extra,
                              const char *const *reads, int n, Error *e);
void inputs_free(InputList *list);
/* The temporaries killed runs left in the directories the outputs go to
 * (fileio.h): removed, their number returned. */
int inputs_remove_stale_temporaries(const InputList *list);

#endif
