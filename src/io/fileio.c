#include "io/fileio.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void buf_append(Buf *b, const void *data, size_t len) {
    if (b->failed) return;
    if (len > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len < len) {
            if (cap > (size_t)-1 / 2) {
                b->failed = 1;
                return;
            }
            cap *= 2;
        }
        unsigned char *p = realloc(b->data, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

void buf_free(Buf *b) {
    if (!b) return;
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* This machine's name as temporaries carry it: at most HOST_MAX bytes, no
 * '/' or '.' (the name's separators). */
enum { HOST_MAX = 64 };
static void this_host(char host[HOST_MAX + 1]) {
    if (gethostname(host, HOST_MAX) != 0) snprintf(host, HOST_MAX + 1, "host");
    host[HOST_MAX] = '\0';
    for (char *p = host; *p; p++)
        if (*p == '/' || *p == '.') *p = '_';
    if (!*host) snprintf(host, HOST_MAX + 1, "host");
}

void file_remove_stale_temporaries(const char *dir, int *removed) {
    DIR *d = opendir(*dir ? dir : ".");
    if (!d) return;
    char host[HOST_MAX + 1];
    this_host(host);
    size_t prefix = strlen(FILE_TEMP_PREFIX), hl = strlen(host);
    struct dirent *ent;
    while ((ent = readdir(d))) {
        const char *name = ent->d_name;
        // FILE_TEMP_PREFIX HOST . PID . XXXXXX, HOST this one's.
        if (strncmp(name, FILE_TEMP_PREFIX, prefix) != 0 || strncmp(name + prefix, host, hl) != 0 ||
            name[prefix + hl] != '.')
            continue;
        char *end;
        errno = 0;
        long pid = strtol(name + prefix + hl + 1, &end, 10);
        if (errno || pid <= 0 || *end != '.' || strlen(end + 1) != 6 || pid == (long)getpid())
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; // alive, or not ours to know
        char *path = malloc(strlen(dir) + strlen(name) + 2);
        if (!path) break;
        sprintf(path, "%s%s%s", dir, *dir && dir[strlen(dir) - 1] != '/' ? "/" : "", name);
        if (unlink(path) == 0) (*removed)++;
        free(path);
    }
    closedir(d);
}

int file_write_atomic(const char *path, const void *data, size_t len, Error *e) {
    // Renaming over a FIFO, a device or a directory would replace it.
    struct stat st;
    if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        error_set(e, "%s: exists and is not a regular file; not replacing it", path);
        return FILE_BAD_NAME;
    }
    // The temporary's name does not grow with the output's, so any name
    // that fits a directory entry can be written.
    const char *slash = strrchr(path, '/');
    size_t dir = slash ? (size_t)(slash - path) + 1 : 0;
    char host[HOST_MAX + 1], tail[HOST_MAX + 64];
    this_host(host);
    int n = snprintf(tail, sizeof tail, FILE_TEMP_PREFIX "%s.%ld.XXXXXX", host, (long)getpid());
    char *tmp = malloc(dir + (size_t)n + 1);
    if (!tmp) return error_set(e, "%s: out of memory", path);
    memcpy(tmp, path, dir);
    memcpy(tmp + dir, tail, (size_t)n + 1);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int err = errno;
        free(tmp);
        error_set(e, "%s: cannot create a file there: %s", path, strerror(err));
        return err == ENAMETOOLONG ? FILE_BAD_NAME : -1;
    }
    const unsigned char *p = data;
    size_t left = len;
    int err = 0;
    while (left > 0) {
        ssize_t wrote = write(fd, p, left);
        if (wrote < 0 && errno == EINTR) continue;
        if (wrote <= 0) {
            err = wrote < 0 ? errno : EIO;
            break;
        }
        p += wrote;
        left -= (size_t)wrote;
    }
    if (!err && fsync(fd) != 0) err = errno;
    if (close(fd) != 0 && !err) err = errno;
    // mkstemp creates 0600; outputs get the usual permissions.
    if (!err) {
        mode_t mask = umask(0);
        umask(mask);
        if (chmod(tmp, 0666 & ~mask) != 0) err = errno;
    }
    if (!err && rename(tmp, path) != 0) err = errno;
    if (err) {
        unlink(tmp);
        free(tmp);
        error_set(e, "%s: cannot write: %s", path, strerror(err));
        return err == ENAMETOOLONG || err == EISDIR ? FILE_BAD_NAME : -1;
    }
    free(tmp);
    return 0;
}

int file_make_parents(const char *path, Error *e) {
    size_t n = strlen(path);
    char *dir = malloc(n + 1);
    if (!dir) return error_set(e, "%s: out of memory", path);
    memcpy(dir, path, n + 1);
    int rc = 0;
    // Each prefix ending before a '/' (but not the root) is made in turn.
    for (char *p = dir + 1; rc == 0 && (p = strchr(p, '/')); p++) {
        *p = '\0';
        struct stat st;
        if (mkdir(dir, 0777) != 0 && errno != EEXIST)
            rc = error_set(e, "%s: cannot create directory %s: %s", path, dir, strerror(errno));
        else if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
            rc = error_set(e, "%s: %s is not a directory", path, dir);
        *p = '/';
    }
    free(dir);
    return rc;
}

int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

size_t file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) ? (size_t)st.st_size : 0;
}

int file_write_stdout(const void *data, size_t len, Error *e) {
    if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0)
        return error_set(e, "standard output: cannot write: %s", strerror(errno));
    return 0;
}
