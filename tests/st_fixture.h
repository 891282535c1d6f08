/* st_fixture.h -- write safetensors files for the memory tests: the 8-byte
 * little-endian header length, the JSON header, then `data` zero bytes.
 * len_override (nonzero) is written as the length instead of the real one,
 * to make files whose header claims more than the file holds. */
#ifndef PF_TEST_ST_FIXTURE_H
#define PF_TEST_ST_FIXTURE_H

#include <stdint.h>

/* Returns 0, or -1 when the file cannot be written. */
int st_write_raw(const char *path, const char *header, uint64_t data, uint64_t len_override);

#endif
