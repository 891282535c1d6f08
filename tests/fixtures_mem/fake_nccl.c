/* A stand-in libnccl.so.2 for tests/test_libnccl.c: the version banner NCCL
 * embeds in .rodata, a printf format and a longer message that contain the
 * same words (the scanner must skip them), and ncclGetVersion.  The version
 * comes from -DFAKE_MAJOR/-DFAKE_MINOR/-DFAKE_PATCH/-DFAKE_CUDA. */
#define STR2(x) #x
#define STR(x) STR2(x)

const char *fake_nccl_strings(int i);
int ncclGetVersion(int *version);

/* NCCL 2.32 has its --help text ahead of the banner in .rodata */
const char fake_nccl_decoy0[] = "NCCL version information";
static const char decoy1[] = "Mismatched NCCL version detected : rank %d version %d";
static const char decoy2[] = "NCCL version %s";
const char fake_nccl_banner[] = "NCCL version " STR(FAKE_MAJOR) "." STR(FAKE_MINOR) "." STR(FAKE_PATCH) "+cuda" STR(FAKE_CUDA);

const char *fake_nccl_strings(int i)
{
    return i < 0 ? fake_nccl_decoy0 : i == 0 ? decoy1 : i == 1 ? decoy2 : fake_nccl_banner;
}

int ncclGetVersion(int *version)
{
    *version = FAKE_MAJOR * 10000 + FAKE_MINOR * 100 + FAKE_PATCH;
    return 0;
}
