/* A stand-in torch/lib/libtorch_cuda.so: needs libnccl.so.2 and finds it
 * through the RUNPATH or RPATH the build gives it, like the real wheel. */
int ncclGetVersion(int *version);
int fake_torch_nccl_version(void);

int fake_torch_nccl_version(void)
{
    int v = 0;
    return ncclGetVersion(&v) == 0 ? v : -1;
}
