/* fileio.h: writing an output file so that it is either whole or absent.
 *
 * The bytes go to a temporary file in the destination's directory, are
 * flushed to disk, and the temporary is renamed over the final name; on any
 * failure the temporary is removed and the final name is untouched. An
 * interrupted run therefore never leaves a truncated PNG or .npy behind.
 * An existing path that is not a regular file (a FIFO, a device, a
 * directory, a symbolic link) is refused rather than replaced.
 */
#ifndef GUIDEDBP_FILEIO_H
#define GUIDEDBP_FILEIO_H

#include <stddef.h>

#include "util/error.h"

/* A growable byte buffer for encoders that write piecewise. buf_free
 * releases it (NULL-safe); a failed append sets `failed` and drops data. */
typedef struct {
    unsigned char *data;
    size_t len, cap;
    int failed;
} Buf;

void buf_append(Buf *b, const void *data, size_t len);
void buf_free(Buf *b);

/* The temporaries' names, in the output's directory:
 * FILE_TEMP_PREFIX HOST.PID.XXXXXX, the writing process's host name and
 * id and 6 random characters, so that one a kill -9 left behind is known
 * for dead (file_remove_stale_temporaries), even where processes of several
 * machines write to one shared directory. */
#define FILE_TEMP_PREFIX ".guidedbp.tmp."
/* What file_write_atomic returns when the failure is this path's own (a
 * name too long, an existing directory or device there), which another
 * path would not meet; -1 for the others (a full disk, no permission). */
enum { FILE_BAD_NAME = -2 };

int file_write_atomic(const char *path, const void *data, size_t len, Error *e);

/* The bytes on standard output, flushed; -1 with e when that fails (a
 * closed pipe, a full disk). */
int file_write_stdout(const void *data, size_t len, Error *e);

/* Removes from dir the temporaries of processes of this host that no longer
 * run; adds their number to *removed. A directory that cannot be read is
 * skipped (there is nothing of ours to clean in it). */
void file_remove_stale_temporaries(const char *dir, int *removed);

/* Creates the directories leading to path (not path itself), like mkdir -p
 * on its dirname; existing ones are fine. */
int file_make_parents(const char *path, Error *e);

/* 1 if path exists (as anything), 0 if not. */
int file_exists(const char *path);
/* The size of the regular file at path; 0 for anything else ("-" too). */
size_t file_size(const char *path);

#endif
