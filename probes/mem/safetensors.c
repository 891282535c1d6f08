/* safetensors.c -- weight bytes of a Hugging Face model directory from the
 * safetensors headers (see safetensors.h). */
#include "probes/mem/safetensors.h"
#include "core/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The safetensors reference implementation refuses headers above 100 MB. */
#define ST_MAX_HEADER 100000000ULL
#define CONFIG_MAX_BYTES (16u << 20) /* config.json: kilobytes in practice */
#define INDEX_MAX_BYTES (256u << 20) /* model.safetensors.index.json */

int pf_st_dtype_bits(const char *d)
{
    static const struct {
        const char *name;
        int bits;
    } t[] = {
        {"BOOL", 8},     {"U8", 8},        {"I8", 8},        {"F8_E5M2", 8},  {"F8_E4M3", 8},
        {"F8_E8M0", 8},  {"I16", 16},      {"U16", 16},      {"F16", 16},     {"BF16", 16},
        {"I32", 32},     {"U32", 32},      {"F32", 32},      {"I64", 64},     {"U64", 64},
        {"F64", 64},     {"C64", 64},      {"F4", 4},        {"F6_E2M3", 6},  {"F6_E3M2", 6},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(d, t[i].name) == 0)
            return t[i].bits;
    return 0;
}

/* Layer index from names such as "model.layers.12.mlp..." or
 * "transformer.h.3.attn...", or -1. */
static int layer_index(const char *name)
{
    static const char *const keys[] = {"layers.", "h.", "blocks.", "block."};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        size_t kl = strlen(keys[k]);
        for (const char *p = strstr(name, keys[k]); p; p = strstr(p + 1, keys[k])) {
            if (p != name && p[-1] != '.')
                continue;
            const char *q = p + kl;
            if (*q < '0' || *q > '9')
                continue;
            long v = 0;
            while (*q >= '0' && *q <= '9' && v < 1000000)
                v = v * 10 + (*q++ - '0');
            if (*q == '.' || *q == '\0')
                return (int)v;
        }
    }
    return -1;
}

static int name_has_any(const char *name, const char *const *subs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strstr(name, subs[i]))
            return 1;
    return 0;
}

/* Token embeddings first: a tied lm_head copies exactly these (see
 * pf_st_stage_bytes); position embeddings ("wpe.") only load on stage 0. */
#define N_TOKEN_EMBED 5
static const char *const embed_names[] = {"embed_tokens", "wte.", "word_embeddings", "embed_in.",
                                          "tok_embeddings", "wpe."};
/* Vision/audio towers have their own "layers.N" but load with the first stage. */
static const char *const tower_names[] = {"vision", "visual", "audio", "mm_projector", "multi_modal"};
static const char *const head_names[] = {"lm_head", "embed_out.", "output.weight"};

static void classify(pf_st_tensor *t)
{
    t->layer = -1;
    if (name_has_any(t->name, tower_names, sizeof tower_names / sizeof tower_names[0]) ||
        name_has_any(t->name, embed_names, sizeof embed_names / sizeof embed_names[0])) {
        t->role = PF_ST_EMBED;
        return;
    }
    int l = layer_index(t->name);
    if (l >= 0) {
        t->role = PF_ST_LAYER;
        t->layer = l;
        return;
    }
    t->role = PF_ST_OTHER;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int tensor_bytes(const char *path, const char *name, json_t *desc, uint64_t data_size,
                        uint64_t *out, pf_err *err)
{
    if (!json_is_object(desc))
        return pf_err_set(err, "%s: tensor \"%s\" is not a JSON object", path, name);
    const char *dtype = json_string_value(json_object_get(desc, "dtype"));
    json_t *shape = json_object_get(desc, "shape");
    json_t *offs = json_object_get(desc, "data_offsets");
    if (!dtype)
        return pf_err_set(err, "%s: tensor \"%s\" has no \"dtype\" string", path, name);
    if (!json_is_array(shape))
        return pf_err_set(err, "%s: tensor \"%s\" has no \"shape\" array", path, name);
    if (!json_is_array(offs) || json_array_size(offs) != 2 || !json_is_integer(json_array_get(offs, 0)) ||
        !json_is_integer(json_array_get(offs, 1)))
        return pf_err_set(err, "%s: tensor \"%s\" has no \"data_offsets\" [begin, end] pair", path, name);
    json_int_t b = json_integer_value(json_array_get(offs, 0));
    json_int_t e = json_integer_value(json_array_get(offs, 1));
    if (b < 0 || e < b || (uint64_t)e > data_size)
        return pf_err_set(err, "%s: tensor \"%s\" has data_offsets [%lld, %lld] outside the %llu data bytes",
                          path, name, (long long)b, (long long)e, (unsigned long long)data_size);

    uint64_t n = 1;
    size_t i;
    json_t *dim;
    json_array_foreach(shape, i, dim)
    {
        if (!json_is_integer(dim))
            return pf_err_set(err, "%s: tensor \"%s\" has a non-integer dimension", path, name);
        json_int_t d = json_integer_value(dim);
        if (d < 0)
            return pf_err_set(err, "%s: tensor \"%s\" has a negative dimension (%lld)", path, name, (long long)d);
        if (d != 0 && n > UINT64_MAX / (uint64_t)d)
            return pf_err_set(err, "%s: tensor \"%s\": element count overflows 64 bits", path, name);
        n *= (uint64_t)d;
    }
    int bits = pf_st_dtype_bits(dtype);
    if (bits == 0) {
        /* A dtype newer than this table: trust the span the file declares. */
        *out = (uint64_t)(e - b);
        return 0;
    }
    if (n > UINT64_MAX / (uint64_t)bits)
        return pf_err_set(err, "%s: tensor \"%s\": byte count overflows 64 bits", path, name);
    uint64_t bytes = (n * (uint64_t)bits + 7) / 8;
    if (bytes != (uint64_t)(e - b))
        return pf_err_set(err, "%s: tensor \"%s\": %s x shape = %llu bytes but data_offsets span %lld bytes",
                          path, name, dtype, (unsigned long long)bytes, (long long)(e - b));
    *out = bytes;
    return 0;
}

typedef struct st_range {
    uint64_t b, e;
    const char *name;
} st_range;

static int cmp_range(const void *x, const void *y)
{
    const st_range *a = x, *b = y;
    return a->b < b->b ? -1 : a->b > b->b ? 1 : 0;
}

int pf_st_read_file(pf_st_model *m, const char *path, pf_err *err)
{
    struct stat st;
    int fd = pf_file_open_read(path, NULL, &st, err); /* a FIFO is refused, never waited on */
    if (fd < 0)
        return -1;
    uint64_t fsize = (uint64_t)st.st_size;
    unsigned char lenbuf[8];
    if (fsize < 8 || pread(fd, lenbuf, 8, 0) != 8) {
        close(fd);
        return pf_err_set(err, "%s is too short to be a safetensors file (%llu bytes)", path,
                          (unsigned long long)fsize);
    }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | lenbuf[i];
    if (hlen == 0 || hlen > fsize - 8) {
        close(fd);
        return pf_err_set(err, "%s: header length %llu does not fit in the %llu-byte file (corrupt or truncated)",
                          path, (unsigned long long)hlen, (unsigned long long)fsize);
    }
    if (hlen > ST_MAX_HEADER) {
        close(fd);
        return pf_err_set(err, "%s: header length %llu exceeds the 100 MB safetensors limit", path,
                          (unsigned long long)hlen);
    }
    char *hdr = pf_xmalloc((size_t)hlen + 1);
    ssize_t got = pread(fd, hdr, (size_t)hlen, 8);
    int rerr = errno;
    close(fd);
    if (got != (ssize_t)hlen) {
        free(hdr);
        return got < 0 ? pf_err_errno(err, rerr, "cannot read the header of %s", path)
                       : pf_err_set(err, "%s: short read of the %llu-byte header", path, (unsigned long long)hlen);
    }
    hdr[hlen] = '\0';
    json_error_t jerr;
    json_t *root = json_loadb(hdr, (size_t)hlen, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    free(hdr);
    if (!root)
        return pf_err_set(err, "%s: header is not valid JSON (%s at byte %d)", path, jerr.text, jerr.position);
    if (!json_is_object(root)) {
        json_decref(root);
        return pf_err_set(err, "%s: header is JSON but not an object", path);
    }

    uint64_t data_size = fsize - 8 - hlen;
    uint64_t file_total = 0;
    const char *name;
    json_t *desc;
    size_t added = 0;
    /* data ranges, to refuse overlapping tensors: two names over the same
     * bytes would count those bytes twice (the format forbids it) */
    st_range *ranges = pf_xmalloc((json_object_size(root) + 1) * sizeof *ranges);
    size_t nr = 0;
    int bad = 0;
    json_object_foreach(root, name, desc)
    {
        if (strcmp(name, "__metadata__") == 0)
            continue;
        uint64_t bytes = 0;
        if (tensor_bytes(path, name, desc, data_size, &bytes, err) != 0) {
            bad = 1;
            break;
        }
        json_t *off = json_object_get(desc, "data_offsets");
        uint64_t b = (uint64_t)json_integer_value(json_array_get(off, 0));
        if (bytes > 0) {
            ranges[nr].b = b;
            ranges[nr].e = b + bytes;
            ranges[nr].name = name;
            nr++;
        }
        if (file_total > UINT64_MAX - bytes)
            bytes = UINT64_MAX - file_total;
        file_total += bytes;
        m->t = pf_xrealloc(m->t, (m->nt + 1) * sizeof m->t[0]);
        pf_st_tensor *t = &m->t[m->nt++];
        t->name = pf_xstrdup(name);
        t->file = pf_xstrdup(base_name(path));
        t->bytes = bytes;
        classify(t);
        if (t->role == PF_ST_LAYER && t->layer > m->max_layer)
            m->max_layer = t->layer;
        added++;
    }
    if (!bad && nr > 1) {
        qsort(ranges, nr, sizeof *ranges, cmp_range);
        for (size_t k = 1; k < nr && !bad; k++)
            if (ranges[k].b < ranges[k - 1].e) {
                pf_err_set(err, "%s: tensors \"%s\" and \"%s\" overlap (bytes %llu-%llu and %llu-%llu): "
                                "not a valid safetensors file",
                           path, ranges[k - 1].name, ranges[k].name, (unsigned long long)ranges[k - 1].b,
                           (unsigned long long)ranges[k - 1].e, (unsigned long long)ranges[k].b,
                           (unsigned long long)ranges[k].e);
                bad = 1;
            }
    }
    free(ranges);
    if (bad) {
        /* keep the model consistent: drop what this file added */
        for (size_t k = 0; k < added; k++) {
            free(m->t[m->nt - 1].name);
            free(m->t[m->nt - 1].file);
            m->nt--;
        }
        json_decref(root);
        return -1;
    }
    json_decref(root);
    m->total_bytes += file_total;
    m->file_bytes += fsize;
    m->nfiles++;
    return 0;
}

/* config.json, or its text part for multimodal models. */
static void read_config(pf_st_model *m, const char *dir)
{
    char *path = pf_path_join(dir, "config.json");
    pf_err jerr;
    json_t *root = pf_file_load_json(path, CONFIG_MAX_BYTES, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(m->config_error, sizeof m->config_error, "%s", jerr.msg);
        free(path);
        return;
    }
    free(path);
    if (!json_is_object(root)) {
        snprintf(m->config_error, sizeof m->config_error, "config.json is not a JSON object");
        json_decref(root);
        return;
    }
    json_t *cfgs[2] = {root, NULL};
    static const char *const subs[] = {"text_config", "llm_config", "language_config"};
    for (size_t i = 0; i < 3 && !cfgs[1]; i++)
        if (json_is_object(json_object_get(root, subs[i])))
            cfgs[1] = json_object_get(root, subs[i]);
    for (int i = 0; i < 2 && cfgs[i]; i++) {
        json_t *c = cfgs[i];
        const char *s;
        if ((s = json_string_value(json_object_get(c, "model_type"))) && !m->model_type[0])
            pf_strlcpy(m->model_type, s, sizeof m->model_type);
        json_t *arch = json_object_get(c, "architectures");
        if (json_is_array(arch) && (s = json_string_value(json_array_get(arch, 0))) && !m->architecture[0])
            pf_strlcpy(m->architecture, s, sizeof m->architecture);
        if (((s = json_string_value(json_object_get(c, "torch_dtype"))) ||
             (s = json_string_value(json_object_get(c, "dtype")))))
            pf_strlcpy(m->torch_dtype, s, sizeof m->torch_dtype);
        json_t *nl = json_object_get(c, "num_hidden_layers");
        if (!json_is_integer(nl))
            nl = json_object_get(c, "n_layer");
        if (json_is_integer(nl) && json_integer_value(nl) > 0 && json_integer_value(nl) < 100000)
            m->num_hidden_layers = (int)json_integer_value(nl);
        json_t *tie = json_object_get(c, "tie_word_embeddings");
        if (json_is_boolean(tie))
            m->tie_word_embeddings = json_is_true(tie) ? 1 : 0;
    }
    json_decref(root);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int shard_list_from_index(const char *index, pf_strv *files, pf_st_model *m,
                                 pf_err *err)
{
    json_t *root = pf_file_load_json(index, INDEX_MAX_BYTES, JSON_REJECT_DUPLICATES, err);
    if (!root)
        return -1;
    json_t *wm = json_object_get(root, "weight_map");
    if (!json_is_object(wm) || json_object_size(wm) == 0) {
        json_decref(root);
        return pf_err_set(err, "%s has no \"weight_map\" object", index);
    }
    json_t *ts = json_object_get(json_object_get(root, "metadata"), "total_size");
    if (json_is_integer(ts))
        m->index_total_size = json_integer_value(ts);
    const char *tensor;
    json_t *fv;
    json_object_foreach(wm, tensor, fv)
    {
        const char *f = json_string_value(fv);
        if (!f || !*f || strchr(f, '/') || strcmp(f, "..") == 0) {
            pf_err_set(err, "%s: tensor \"%s\" maps to an unusable file name", index, tensor);
            json_decref(root);
            return -1;
        }
        if (!pf_strv_contains(files, f))
            pf_strv_push(files, f);
    }
    json_decref(root);
    if (files->n > 1)
        qsort(files->v, files->n, sizeof files->v[0], cmp_str);
    return 0;
}

static void shard_list_from_dir(const char *dir, pf_strv *files)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (pf_str_endswith(de->d_name, ".safetensors") && de->d_name[0] != '.')
            pf_strv_push(files, de->d_name);
    closedir(d);
    if (files->n > 1)
        qsort(files->v, files->n, sizeof files->v[0], cmp_str);
}

int pf_st_read_model(const char *dir, pf_st_model *m, pf_err *err)
{
    memset(m, 0, sizeof *m);
    m->dir = pf_xstrdup(dir);
    m->index_total_size = -1;
    m->num_hidden_layers = -1;
    m->tie_word_embeddings = -1;
    m->max_layer = -1;
    if (!pf_is_dir(dir))
        return pf_err_set(err, "model directory %s does not exist or is not a directory", dir);

    pf_strv files = {0};
    char *index = pf_path_join(dir, "model.safetensors.index.json");
    char *single = pf_path_join(dir, "model.safetensors");
    int rc = 0;
    /* "exists", not "is a regular file": a FIFO or a directory named like a
     * weights file is reported as what it is by the readers below, not
     * silently skipped (or called "missing"). */
    struct stat st;
    bool from_index = stat(index, &st) == 0;
    if (from_index)
        rc = shard_list_from_index(index, &files, m, err);
    else if (stat(single, &st) == 0)
        pf_strv_push(&files, "model.safetensors");
    else
        shard_list_from_dir(dir, &files);
    free(index);
    free(single);
    if (rc == 0 && files.n == 0)
        rc = pf_err_set(err, "%s holds no *.safetensors weights (other formats such as .bin/.gguf are not sized)",
                        dir);
    for (size_t i = 0; rc == 0 && i < files.n; i++) {
        char *p = pf_path_join(dir, files.v[i]);
        if (stat(p, &st) != 0)
            rc = from_index ? pf_err_set(err, "shard %s listed in model.safetensors.index.json is missing", p)
                            : pf_err_errno(err, errno, "cannot read %s", p);
        else
            rc = pf_st_read_file(m, p, err);
        free(p);
    }
    pf_strv_free(&files);
    if (rc == 0)
        read_config(m, dir);
    return rc;
}

void pf_st_model_free(pf_st_model *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nt; i++) {
        free(m->t[i].name);
        free(m->t[i].file);
    }
    free(m->t);
    free(m->dir);
    memset(m, 0, sizeof *m);
}

/* Layers per stage as get_pp_indices computes them, or from an explicit
 * "a,b,c" partition (SGLANG_PP_LAYER_PARTITION). */
static int partition(int nlayers, int pp, const char *spec, int *parts, pf_err *err)
{
    if (spec && *spec) {
        int n = 0, sum = 0;
        const char *p = spec;
        while (*p) {
            char *end;
            long v = strtol(p, &end, 10);
            if (end == p || v < 0 || n >= pp)
                return pf_err_set(err, "layer partition \"%s\" is not %d comma-separated counts", spec, pp);
            parts[n++] = (int)v;
            sum += (int)v;
            p = end;
            if (*p == ',')
                p++;
            else if (*p)
                return pf_err_set(err, "layer partition \"%s\" is not %d comma-separated counts", spec, pp);
        }
        if (n != pp || sum != nlayers)
            return pf_err_set(err, "layer partition \"%s\" has %d entries summing to %d; expected %d entries summing to %d",
                              spec, n, sum, pp, nlayers);
        return 0;
    }
    for (int i = 0; i < pp; i++)
        parts[i] = nlayers / pp;
    int rem = nlayers % pp;
    for (int i = 2; i < rem + 2; i++)
        parts[pp - i]++;
    return 0;
}

int pf_st_stage_bytes(const pf_st_model *m, int pp, const char *spec, uint64_t *stage, pf_err *err)
{
    if (pp < 1)
        return pf_err_set(err, "pipeline size %d is not positive", pp);
    for (int i = 0; i < pp; i++)
        stage[i] = 0;
    int nlayers = m->num_hidden_layers > 0 ? m->num_hidden_layers : m->max_layer + 1;
    if (nlayers <= 0) {
        /* no layer structure: an even split is the best estimate */
        for (int i = 0; i < pp; i++)
            stage[i] = m->total_bytes / (uint64_t)pp + (i == 0 ? m->total_bytes % (uint64_t)pp : 0);
        return 0;
    }
    if (pp > nlayers)
        return pf_err_set(err, "--pp %d exceeds the model's %d layers", pp, nlayers);
    int *parts = pf_xcalloc((size_t)pp, sizeof *parts);
    if (partition(nlayers, pp, spec, parts, err) != 0) {
        free(parts);
        return -1;
    }
    uint64_t embed = 0;
    int have_head = 0;
    for (size_t i = 0; i < m->nt; i++) {
        const pf_st_tensor *t = &m->t[i];
        int s;
        if (t->role == PF_ST_EMBED) {
            s = 0;
            if (name_has_any(t->name, embed_names, N_TOKEN_EMBED) &&
                !name_has_any(t->name, tower_names, sizeof tower_names / sizeof tower_names[0]))
                embed += t->bytes;
        } else if (t->role == PF_ST_LAYER && t->layer < nlayers) {
            int acc = 0;
            for (s = 0; s < pp - 1; s++) {
                acc += parts[s];
                if (t->layer < acc)
                    break;
            }
        } else {
            /* final norm, lm_head, extra (e.g. MTP) layers beyond num_hidden_layers */
            s = pp - 1;
            if (name_has_any(t->name, head_names, sizeof head_names / sizeof head_names[0]))
                have_head = 1;
        }
        stage[s] += t->bytes;
    }
    if (pp > 1 && m->tie_word_embeddings == 1 && !have_head)
        stage[pp - 1] += embed;
    free(parts);
    return 0;
}

json_t *pf_st_model_to_json(const pf_st_model *m)
{
    json_t *o = json_object();
    json_object_set_new(o, "dir", json_string(m->dir ? m->dir : ""));
    json_object_set_new(o, "files", json_integer((json_int_t)m->nfiles));
    json_object_set_new(o, "tensors", json_integer((json_int_t)m->nt));
    json_object_set_new(o, "weight_bytes", json_integer((json_int_t)m->total_bytes));
    json_object_set_new(o, "file_bytes", json_integer((json_int_t)m->file_bytes));
    if (m->index_total_size >= 0)
        json_object_set_new(o, "index_total_size", json_integer((json_int_t)m->index_total_size));
    if (m->model_type[0])
        json_object_set_new(o, "model_type", json_string(m->model_type));
    if (m->architecture[0])
        json_object_set_new(o, "architecture", json_string(m->architecture));
    if (m->torch_dtype[0])
        json_object_set_new(o, "torch_dtype", json_string(m->torch_dtype));
    if (m->num_hidden_layers > 0)
        json_object_set_new(o, "num_hidden_layers", json_integer(m->num_hidden_layers));
    if (m->tie_word_embeddings >= 0)
        json_object_set_new(o, "tie_word_embeddings", json_boolean(m->tie_word_embeddings));
    if (m->config_error[0])
        json_object_set_new(o, "config_error", json_string(m->config_error));
    return o;
}
