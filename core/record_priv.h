/* record_priv.h -- what record_load.c needs from record.c and nobody else
 * should use: restoring the metadata of a run read back from JSON.  Not part
 * of the record API (probes and renderers include core/record.h only). */
#ifndef PF_RECORD_PRIV_H
#define PF_RECORD_PRIV_H

#include "core/record.h"

typedef struct pf_run_meta {
    const char *command;
    const char *tool_version;
    const char *started_at;
    const char *finished_at; /* NULL: the run never finished */
    double duration_s;
    bool strict;
} pf_run_meta;

void pf_run_restore_meta(pf_run *run, const pf_run_meta *m);
/* true for the record's own top-level keys, which no section may shadow */
bool pf_record_key_reserved(const char *key);

#endif
