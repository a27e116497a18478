/* error.h: how library code reports failure.
 *
 * A function that can fail returns 0 on success and -1 on failure, and on
 * failure fills the caller's Error with one line that names the file (or the
 * argument) and what exactly was wrong. Only the command line prints it
 * (cli/report.h).
 *
 *     Error err = {0};
 *     if (image_load(path, IMAGE_MAX_PIXELS, &img, &err) != 0) report_error(r, err.msg);
 */
#ifndef GUIDEDBP_ERROR_H
#define GUIDEDBP_ERROR_H

typedef struct {
    char msg[1024];
} Error;

/* Formats the message into e (NULL e is allowed) and returns -1, so that
 * failing is one statement: `return error_set(e, "%s: truncated", path);` */
int error_set(Error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
