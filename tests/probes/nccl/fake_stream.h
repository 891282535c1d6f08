/* fake_stream.h -- what the stand-in libcuda's stream is, so the stand-in
 * libnccl can mark work pending on it (cuStreamQuery answers NOT_READY
 * until NCCL's worker finishes).  Test fixture only. */
#ifndef FAKE_STREAM_H
#define FAKE_STREAM_H
#include <stdatomic.h>
typedef struct fake_stream {
    atomic_int pending;
} fake_stream;
#endif
