/* cluster_table.h -- a cluster run at a glance: one row per node (pipeline
 * order), one column per node check and per pair check, then the
 * cluster-wide checks.  A node-check cell is that node's status; a
 * pair-check cell is the worst status over the pairs where the node is the
 * prober, with how many of its pairs are not "pass" ("fail 1/3").  Nodes
 * that never joined get a row of "-" and the reason under the table.
 * Reads only the record (core/record.h) and the run's "cluster" section.
 */
#ifndef PF_CLUSTER_TABLE_H
#define PF_CLUSTER_TABLE_H

#include <stdbool.h>
#include <stdio.h>

#include "core/record.h"

void pf_cluster_table_render(FILE *f, const pf_run *run, bool color);

#endif
