/* A stand-in libnvidia-ml.so.1 for tests/test_gpuprocs.c: the symbols
 * gpuprocs.c resolves, with behaviour chosen by $FAKE_NVML_MODE:
 *   ok      three compute processes (one is $FAKE_NVML_SELF, one without a memory figure)
 *   grow    the list grows between the sizing call and the next (INSUFFICIENT_SIZE twice)
 *   notsup  NVML_ERROR_NOT_SUPPORTED, as on GB10 and Thor
 *   noinit  nvmlInit_v2 fails with NVML_ERROR_DRIVER_NOT_LOADED */
#include <stdlib.h>
#include <string.h>

typedef struct info {
    unsigned int pid;
    unsigned long long usedGpuMemory;
    unsigned int gpuInstanceId;
    unsigned int computeInstanceId;
} info;

int nvmlInit_v2(void);
int nvmlShutdown(void);
const char *nvmlErrorString(int rc);
int nvmlDeviceGetHandleByPciBusId_v2(const char *id, void **dev);
int nvmlDeviceGetHandleByIndex_v2(unsigned int i, void **dev);
int nvmlDeviceGetComputeRunningProcesses_v3(void *dev, unsigned int *count, info *out);

static int calls;
static int dev_token;

static const char *mode(void)
{
    const char *m = getenv("FAKE_NVML_MODE");
    return m ? m : "ok";
}

int nvmlInit_v2(void)
{
    calls = 0;
    return strcmp(mode(), "noinit") == 0 ? 9 : 0;
}

int nvmlShutdown(void) { return 0; }

const char *nvmlErrorString(int rc)
{
    switch (rc) {
    case 3: return "Not Supported";
    case 6: return "Not Found";
    case 7: return "Insufficient Size";
    case 9: return "Driver Not Loaded";
    default: return "Unknown Error";
    }
}

int nvmlDeviceGetHandleByPciBusId_v2(const char *id, void **dev)
{
    if (strcmp(id, "0000:01:00.0") != 0)
        return 6;
    *dev = &dev_token;
    return 0;
}

int nvmlDeviceGetHandleByIndex_v2(unsigned int i, void **dev)
{
    if (i != 0)
        return 6;
    *dev = &dev_token;
    return 0;
}

int nvmlDeviceGetComputeRunningProcesses_v3(void *dev, unsigned int *count, info *out)
{
    if (dev != &dev_token)
        return 2;
    if (strcmp(mode(), "notsup") == 0)
        return 3;
    unsigned int have = 3;
    if (strcmp(mode(), "grow") == 0 && calls++ < 2)
        have = calls == 1 ? 1 : 2 + 20; /* grows past what the caller sized for */
    if (*count < have || !out) {
        *count = have;
        return 7;
    }
    const char *self = getenv("FAKE_NVML_SELF");
    info rows[3] = {
        {1111, 20ULL << 30, 0, 0},
        {(unsigned)(self ? atoi(self) : 2222), 1ULL << 30, 0, 0},
        {3333, ~0ULL, 0, 0},
    };
    memset(out, 0, *count * sizeof *out);
    memcpy(out, rows, sizeof rows);
    *count = 3;
    return 0;
}
