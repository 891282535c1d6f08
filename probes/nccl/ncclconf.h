/* ncclconf.h -- the NCCL_* environment as NCCL itself will see it.
 *
 * NCCL (src/misc/param.cc initEnvFunc/setEnvFile) reads $NCCL_CONF_FILE, or
 * when that is unset or empty ~/.nccl.conf (home from getpwuid(getuid()), not
 * $HOME), then /etc/nccl.conf, and applies every "NAME=value" line with
 * setenv(NAME, value, 0): the real environment wins, then the earlier file,
 * then the earlier line of the same file.  There is no trimming, no quoting,
 * no "export", and only a '#' in column 1 starts a comment.  Lines that NCCL
 * silently misreads are reported as issues, never treated as fatal.
 *
 * Version differences (nccl_version as 2.28.9 -> 22809, 0 = unknown ->
 * newest rules): from 2.30.3 a trailing '\r' is stripped and lines are read
 * in 4095-byte pieces; before, a CRLF file leaves '\r' in every value.
 */
#ifndef PF_NCCLCONF_H
#define PF_NCCLCONF_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/util.h"

typedef struct pf_nccl_conf_issue {
    int line;                  /* 1-based */
    char *text;                /* the line, shortened for display */
    char *problem;             /* one sentence */
    bool affects_nccl;         /* the line meant to set an NCCL_* variable */
} pf_nccl_conf_issue;

typedef struct pf_nccl_conf_file {
    char *path;
    bool present;              /* the file exists */
    char *error;               /* could not be read (permissions...), NULL otherwise */
    pf_strv names;             /* assignments exactly as NCCL's setenv receives them, */
    pf_strv values;            /*   in file order, duplicates included */
    int *lines;                /* line number of each assignment */
    pf_nccl_conf_issue *issues;
    size_t nissues;
} pf_nccl_conf_file;

/* Parse text the way NCCL version nccl_version would.  Pure. */
void pf_nccl_conf_parse_text(const char *path_label, const char *text, size_t len,
                             int nccl_version, pf_nccl_conf_file *out);
/* Read and parse a file.  A missing file gives present=false, an unreadable
 * one present=true with error set; neither is fatal. */
void pf_nccl_conf_load(const char *path, int nccl_version, pf_nccl_conf_file *out);
void pf_nccl_conf_file_free(pf_nccl_conf_file *f);

typedef struct pf_nccl_env pf_nccl_env;

/* Build the effective environment from envp ("NAME=value", NULL-terminated;
 * typically environ), the home directory (NULL: no ~/.nccl.conf) and the
 * system file path (NULL: "/etc/nccl.conf"). */
pf_nccl_env *pf_nccl_env_load(char *const *envp, const char *home_dir, const char *etc_conf,
                              int nccl_version);
void pf_nccl_env_free(pf_nccl_env *e);

/* Effective value or NULL; *source (if non-NULL) is "environment" or the
 * path of the file that set it. */
const char *pf_nccl_env_get(const pf_nccl_env *e, const char *name, const char **source);
size_t pf_nccl_env_file_count(const pf_nccl_env *e);
const pf_nccl_conf_file *pf_nccl_env_file(const pf_nccl_env *e, size_t i);
/* Number of issues over all files; those that touch NCCL_* lines. */
size_t pf_nccl_env_issue_count(const pf_nccl_env *e, bool only_nccl);

/* The home directory NCCL uses: getpwuid(getuid())->pw_dir; heap or NULL. */
char *pf_nccl_home_dir(void);

/* {"files":[{path,present,error,assignments,issues:[...]}],
 *  "effective":{"NCCL_X":{"value":..,"source":..}}} for every NCCL_* name. */
json_t *pf_nccl_env_to_json(const pf_nccl_env *e);

#endif
