/* file.c -- see file.h. */
#include "core/file.h"

#include <errno.h>
#include <jansson.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/sig.h"

const char *pf_file_type_name(mode_t mode)
{
    if (S_ISREG(mode))
        return "a regular file";
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISSOCK(mode))
        return "a socket";
    if (S_ISLNK(mode))
        return "a symbolic link";
    return "not a regular file";
}

int pf_file_open_read(const char *path, const char *what, struct stat *st, pf_err *err)
{
    const char *w = what ? what : "";
    const char *sp = what ? " " : "";
    /* O_NONBLOCK: open() of a FIFO returns at once instead of waiting for a
     * writer; O_NOCTTY: a terminal device never becomes our controlling tty. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return pf_err_errno(err, errno, "cannot open %s%s%s", w, sp, path);
    struct stat s;
    if (fstat(fd, &s) != 0) {
        int e = errno;
        close(fd);
        return pf_err_errno(err, e, "cannot stat %s%s%s", w, sp, path);
    }
    if (!S_ISREG(s.st_mode)) {
        close(fd);
        return pf_err_set(err, "%s%s%s is %s, not a regular file", w, sp, path, pf_file_type_name(s.st_mode));
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    if (st)
        *st = s;
    return fd;
}

char *pf_file_read(const char *path, size_t max, size_t *len, pf_err *err)
{
    struct stat st;
    int fd = pf_file_open_read(path, NULL, &st, err);
    if (fd < 0)
        return NULL;
    /* /proc and /sys report size 0, so grow as we read rather than trust stat. */
    size_t cap = (st.st_size > 0 && (size_t)st.st_size < max) ? (size_t)st.st_size + 1 : 4096;
    size_t n = 0;
    char *buf = pf_xmalloc(cap);
    for (;;) {
        if (n + 1 >= cap) {
            if (cap > max) {
                free(buf);
                close(fd);
                pf_err_set(err, "%s is larger than %zu bytes", path, max);
                return NULL;
            }
            cap *= 2;
            buf = pf_xrealloc(buf, cap);
        }
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            free(buf);
            close(fd);
            pf_err_errno(err, e, "cannot read %s", path);
            return NULL;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > max) {
            free(buf);
            close(fd);
            pf_err_set(err, "%s is larger than %zu bytes", path, max);
            return NULL;
        }
    }
    close(fd);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

struct json_t *pf_file_load_json(const char *path, size_t max, size_t flags, pf_err *err)
{
    size_t len = 0;
    char *text = pf_file_read(path, max, &len, err);
    if (!text)
        return NULL;
    json_error_t je;
    json_t *root = json_loadb(text, len, flags, &je);
    free(text);
    if (!root)
        pf_err_set(err, "%s is not valid JSON (%s, line %d column %d)", path, je.text, je.line, je.column);
    return root;
}

/* ---- writing ---- */

/* Follow symlinks by hand (realpath() fails on a dangling link, and a link
 * to a file not yet written is a normal way to name an output).  Returns the
 * final path -- which may not exist yet -- as a heap string, or NULL. */
static char *resolve_links(const char *path, pf_err *err)
{
    char *cur = pf_xstrdup(path);
    for (int hop = 0; hop < 40; hop++) {
        struct stat st;
        if (lstat(cur, &st) != 0 || !S_ISLNK(st.st_mode))
            return cur; /* absent (a new file) or not a link: this is the target */
        char target[PATH_MAX];
        ssize_t n = readlink(cur, target, sizeof target - 1);
        if (n < 0) {
            pf_err_errno(err, errno, "cannot read the symbolic link %s", cur);
            free(cur);
            return NULL;
        }
        target[n] = '\0';
        char *next;
        if (target[0] == '/') {
            next = pf_xstrdup(target);
        } else {
            char *slash = strrchr(cur, '/');
            next = slash ? pf_xasprintf("%.*s/%s", (int)(slash - cur), cur, target) : pf_xstrdup(target);
        }
        free(cur);
        cur = next;
    }
    pf_err_set(err, "%s: too many levels of symbolic links", path);
    free(cur);
    return NULL;
}

int pf_file_write_fd(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (w == 0) {
            errno = EIO;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* A device or a FIFO: write through, never replace. */
static int write_through(const char *path, const char *shown, const struct stat *st, const void *data,
                         size_t len, pf_err *err)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        if (errno == ENXIO && S_ISFIFO(st->st_mode))
            return pf_err_set(err, "cannot write %s: it is a FIFO and nothing is reading it", shown);
        return pf_err_errno(err, errno, "cannot write %s (%s)", shown, pf_file_type_name(st->st_mode));
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    int rc = 0;
    if (pf_file_write_fd(fd, data, len) != 0)
        rc = pf_err_errno(err, errno, "cannot write %s", shown);
    if (close(fd) != 0 && rc == 0)
        rc = pf_err_errno(err, errno, "cannot write %s", shown);
    return rc;
}

/* A regular file or a new one: temp file in the same directory, rename. */
static int write_atomic(const char *path, const char *shown, const struct stat *old, const void *data,
                        size_t len, pf_err *err)
{
    const char *slash = strrchr(path, '/');
    char *tmp = slash ? pf_xasprintf("%.*s/.%s.tmp.XXXXXX", (int)(slash - path), path, slash + 1)
                      : pf_xasprintf(".%s.tmp.XXXXXX", path);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return pf_err_errno(err, e, "cannot create a file beside %s", shown);
    }
    /* mkstemp makes 0600; keep the old file's mode, or the usual 0644. */
    fchmod(fd, old ? (old->st_mode & 07777) : 0644);
    int rc = 0;
    if (pf_file_write_fd(fd, data, len) != 0 || fsync(fd) != 0)
        rc = pf_err_errno(err, errno, "cannot write %s", shown);
    if (close(fd) != 0 && rc == 0)
        rc = pf_err_errno(err, errno, "cannot write %s", shown);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = pf_err_errno(err, errno, "cannot move the new %s into place", shown);
    if (rc != 0)
        unlink(tmp);
    free(tmp);
    return rc;
}

int pf_file_write(const char *path, const void *data, size_t len, pf_err *err)
{
    if (strcmp(path, "-") == 0) {
        if ((len && fwrite(data, 1, len, stdout) != len) || fflush(stdout) != 0)
            return pf_err_errno(err, errno, "cannot write to stdout");
        return 0;
    }
    char *real = resolve_links(path, err);
    if (!real)
        return -1;
    const char *shown = path;
    struct stat st;
    int rc;
    if (stat(real, &st) != 0) {
        if (errno != ENOENT)
            rc = pf_err_errno(err, errno, "cannot write %s", shown);
        else
            rc = write_atomic(real, shown, NULL, data, len, err);
    } else if (S_ISDIR(st.st_mode)) {
        rc = pf_err_set(err, "cannot write %s: it is a directory", shown);
    } else if (S_ISREG(st.st_mode)) {
        rc = write_atomic(real, shown, &st, data, len, err);
    } else {
        rc = write_through(real, shown, &st, data, len, err);
    }
    free(real);
    return rc;
}

FILE *pf_file_append(const char *path, pf_err *err)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0644);
    if (fd < 0) {
        if (errno == ENXIO)
            pf_err_set(err, "cannot write %s: it is a FIFO and nothing is reading it", path);
        else if (errno == EISDIR)
            pf_err_set(err, "cannot write %s: it is a directory", path);
        else
            pf_err_errno(err, errno, "cannot open %s for writing", path);
        return NULL;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    FILE *f = fdopen(fd, "a");
    if (!f) {
        pf_err_errno(err, errno, "cannot open %s for writing", path);
        close(fd);
    }
    return f;
}

char *pf_file_drain_fd(int fd, size_t max, bool keep_reading, double deadline, bool stop_on_signal, size_t *len,
                       bool *full, pf_drain_end *end)
{
    size_t cap = 4096, n = 0;
    char *buf = pf_xmalloc(cap);
    *full = false;
    for (;;) {
        if (stop_on_signal && pf_sig_count() > 0) {
            *end = PF_DRAIN_SIGNAL;
            break;
        }
        double left = deadline - pf_now();
        if (left <= 0) {
            *end = PF_DRAIN_DEADLINE;
            break;
        }
        int ms = (int)(left * 1000) + 1;
        if (stop_on_signal && ms > 200)
            ms = 200;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int pr = poll(&pfd, 1, ms);
        if (pr <= 0)
            continue; /* EINTR or a slice ended: the checks above decide */
        char chunk[65536];
        ssize_t r = read(fd, chunk, sizeof chunk);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r <= 0) {
            *end = PF_DRAIN_EOF;
            break;
        }
        size_t take = (size_t)r;
        if (n + take > max) {
            take = max - n;
            *full = true;
        }
        if (n + take + 1 > cap) {
            while (n + take + 1 > cap)
                cap *= 2;
            buf = pf_xrealloc(buf, cap);
        }
        memcpy(buf + n, chunk, take);
        n += take;
        if (*full && !keep_reading) {
            *end = PF_DRAIN_FULL;
            break;
        }
    }
    buf[n] = 0;
    *len = n;
    return buf;
}
