/* safetensors.h -- how many bytes of weights a local Hugging Face model
 * directory holds, and how they split over pipeline stages.
 *
 * A .safetensors file is an 8-byte little-endian header length N, N bytes of
 * JSON ({"name": {"dtype", "shape", "data_offsets": [b, e]}, "__metadata__"}),
 * then the tensor data.  Only the headers are read, so sizing a 70 GB model
 * costs a few kilobytes of I/O.  Sharded models list their files in
 * model.safetensors.index.json ("weight_map": tensor -> file).
 */
#ifndef PF_SAFETENSORS_H
#define PF_SAFETENSORS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/util.h"

/* Bytes per element of a safetensors dtype in bits ("BF16" -> 16, "F4" -> 4);
 * 0 for an unknown dtype. */
int pf_st_dtype_bits(const char *dtype);

/* Where a tensor goes in a pipeline split. */
typedef enum pf_st_role {
    PF_ST_LAYER = 0,   /* "....layers.<N>...." / "h.<N>." : decoder layer N */
    PF_ST_EMBED,       /* input embedding: first stage */
    PF_ST_OTHER,       /* final norm, lm_head, anything else: last stage */
} pf_st_role;

typedef struct pf_st_tensor {
    char *name;
    char *file;        /* base name of the file holding it */
    uint64_t bytes;
    pf_st_role role;
    int layer;         /* PF_ST_LAYER: layer index; else -1 */
} pf_st_tensor;

typedef struct pf_st_model {
    char *dir;
    uint64_t total_bytes;       /* sum of tensor bytes (dtype x shape) */
    uint64_t file_bytes;        /* sum of file sizes */
    size_t nfiles;
    pf_st_tensor *t;
    size_t nt;
    int64_t index_total_size;   /* metadata.total_size of the index, -1 when absent */
    /* from config.json (text_config for multimodal models); -1 / "" unknown */
    char model_type[64];
    char architecture[128];
    char torch_dtype[32];
    int num_hidden_layers;
    int tie_word_embeddings;    /* 1, 0, -1 unknown */
    char config_error[300];     /* why config.json was not read ("" when it was) */
    int max_layer;              /* highest layer index seen in tensor names, -1 none */
} pf_st_model;

/* Parse one file's header and append its tensors to m (file_bytes, nfiles,
 * total_bytes updated).  Errors name the file and the tensor. */
int pf_st_read_file(pf_st_model *m, const char *path, pf_err *err);
/* Read a model directory: index.json shards if present, else
 * model.safetensors, else every *.safetensors file; then config.json (its
 * absence or corruption is recorded in config_error, not fatal). */
int pf_st_read_model(const char *dir, pf_st_model *m, pf_err *err);
void pf_st_model_free(pf_st_model *m);

/* Per-stage weight bytes for `pp` pipeline stages (stage[] has pp entries).
 * Layers are split the way vLLM's and SGLang's get_pp_indices do (even
 * split, remainder to the stages before the last), or by `partition`
 * ("16,15,15,15", the SGLANG_PP_LAYER_PARTITION syntax; NULL for the
 * default); embeddings and vision/audio towers go to stage 0
 * and everything else to the last stage; with tied embeddings and no lm_head
 * tensor, the last stage also holds a copy of the embedding (pp > 1).
 * Without layer-indexed names, weights are split evenly.  Returns 0, or -1
 * when pp < 1, pp exceeds the layer count, or the partition is malformed. */
int pf_st_stage_bytes(const pf_st_model *m, int pp, const char *partition, uint64_t *stage,
                      pf_err *err);

/* Summary object for evidence: dir, files, bytes, config facts. */
json_t *pf_st_model_to_json(const pf_st_model *m);

#endif
