/* file.h -- reading files we did not write, and writing output files, safely.
 *
 * preflight runs as root and is pointed at paths it does not control: a
 * venv's METADATA, ~/.nccl.conf, a dataset, a model header, `--json PATH`.
 * Two mistakes are easy with plain open()/fopen() and both happened:
 *
 *   reading:  open(O_RDONLY) of a FIFO blocks until a writer appears (for
 *             ever), and /dev/zero or /proc/self/mem never ends or fails
 *             half-way.  So every reader here opens with O_NONBLOCK (which
 *             returns at once for a FIFO), checks with fstat() that it got a
 *             regular file, and only then reads, never more than a cap.
 *
 *   writing:  "write a temp file and rename it over PATH" is right for a
 *             regular file (a reader never sees half a record) and wrong for
 *             everything else: renaming over /dev/null turns the system's
 *             /dev/null into a regular file, and renaming over a symlink
 *             replaces the link instead of writing where it points.  So
 *             pf_file_write resolves symlinks first, writes a regular file
 *             (or a new one) atomically in the same directory, and writes
 *             anything else (a character device, a FIFO with a reader, "-"
 *             for stdout) straight through.  It never replaces what is not a
 *             regular file.
 *
 * Every command's outputs (the JSON record, JSONL files, logs) go through
 * these functions; every reader of outside input goes through
 * pf_file_open_read / pf_file_read.  Nothing here prints; errors name the
 * path.
 */
#ifndef PF_FILE_H
#define PF_FILE_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>

#include "core/util.h"

/* Open PATH for reading without ever blocking in open(): O_NONBLOCK, then
 * fstat; anything but a regular file is refused with a sentence naming its
 * type ("... is a FIFO, not a regular file").  Returns a blocking fd
 * (O_NONBLOCK cleared, O_CLOEXEC set) and fills *st (if non-NULL), or -1.
 * `what` names the file in messages ("JSONL dataset", NULL for none). */
int pf_file_open_read(const char *path, const char *what, struct stat *st, pf_err *err);

/* Read a whole regular file into a NUL-terminated heap buffer, at most `max`
 * bytes (more is an error saying so).  Works for /proc and /sys files whose
 * stat size is 0 (they are regular files).  *len gets the byte count. */
char *pf_file_read(const char *path, size_t max, size_t *len, pf_err *err);

/* pf_file_read, then parse as JSON (jansson flags).  NULL with a sentence
 * naming the path, the line and column on a parse error. */
struct json_t;
struct json_t *pf_file_load_json(const char *path, size_t max, size_t flags, pf_err *err);

/* The type of st as a word for messages: "a FIFO", "a directory", ... */
const char *pf_file_type_name(mode_t mode);

/* Write len bytes to PATH as one output file ("-": stdout), as described at
 * the top.  A write error (disk full, EIO) is reported with the path and the
 * old file, if any, is left untouched (for regular files). */
int pf_file_write(const char *path, const void *data, size_t len, pf_err *err);
/* Write all of data to fd, retrying short writes and EINTR; -1 with errno
 * on failure (a write of 0 bytes is EIO). */
int pf_file_write_fd(int fd, const void *data, size_t len);

/* Read a pipe (a child's output) until EOF, with a deadline and a cap: the
 * one loop for every "read what my child wrote" (core/proc.c's tools,
 * cluster/agent.c's checks child).  deadline is on the pf_now() clock.
 * Past `max` bytes: with keep_reading, the rest is read and dropped (a tool
 * that floods its output still runs to its end) and *full is set; without,
 * reading stops there.  When stop_on_signal, a signal of the policy
 * (core/sig.h: pf_sig_count() > 0) ends the wait too; poll sleeps at most
 * 200 ms so a signal that lands just before it is still seen in time.
 * Returns a NUL-terminated heap buffer (never NULL; *len bytes) and why it
 * ended. */
typedef enum pf_drain_end {
    PF_DRAIN_EOF,      /* the writer closed its end */
    PF_DRAIN_DEADLINE, /* the deadline passed first */
    PF_DRAIN_SIGNAL,   /* a signal of the policy came first */
    PF_DRAIN_FULL,     /* more than max bytes (without keep_reading) */
} pf_drain_end;
char *pf_file_drain_fd(int fd, size_t max, bool keep_reading, double deadline, bool stop_on_signal, size_t *len,
                       bool *full, pf_drain_end *end);

/* Open PATH for appending (JSONL outputs): symlinks followed, created 0644
 * if absent, a FIFO without a reader refused at once instead of blocking,
 * a directory refused.  Returns a FILE* or NULL (err set). */
FILE *pf_file_append(const char *path, pf_err *err);

#endif
