#include "st_fixture.h"

#include <stdio.h>
#include <string.h>

int st_write_raw(const char *path, const char *header, uint64_t data, uint64_t len_override)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    uint64_t n = len_override ? len_override : strlen(header);
    for (int i = 0; i < 8; i++)
        fputc((int)((n >> (8 * i)) & 0xff), f);
    fwrite(header, 1, strlen(header), f);
    static const char zeros[4096];
    for (uint64_t left = data; left > 0;) {
        size_t k = left < sizeof zeros ? (size_t)left : sizeof zeros;
        fwrite(zeros, 1, k, f);
        left -= k;
    }
    return fclose(f) == 0 ? 0 : -1;
}
