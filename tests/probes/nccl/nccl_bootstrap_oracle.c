/* nccl_bootstrap_oracle LIBNCCL -- ask a real libnccl.so.2 which interface
 * it bootstraps on: ncclGetUniqueId runs NCCL's own interface search
 * (bootstrapNetInit) and, with NCCL_DEBUG=INFO, prints "Bootstrap: Using
 * <if>:<addr><0>" or warns "Bootstrap : no socket interface found".  It
 * needs no GPU.  Prints "rc=<ncclResult_t>" last; exits 0 when NCCL
 * answered at all (success or an NCCL error), 2 when the library is unusable. */
#include <dlfcn.h>
#include <stdio.h>

typedef struct {
    char internal[128];
} unique_id;

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH/TO/libnccl.so.2\n", argv[0]);
        return 2;
    }
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "dlopen %s: %s\n", argv[1], dlerror());
        return 2;
    }
    int (*get_id)(unique_id *) = (int (*)(unique_id *))dlsym(h, "ncclGetUniqueId");
    if (!get_id) {
        fprintf(stderr, "%s has no ncclGetUniqueId\n", argv[1]);
        return 2;
    }
    unique_id id;
    int rc = get_id(&id);
    fflush(stdout);
    printf("rc=%d\n", rc);
    return 0;
}
