/* /proc/net/tcp and /proc/net/tcp6 text (probes/nccl/nccl_pcap.c), read by
 * the packet capture to learn the probe's ports; then the port set and the
 * BPF filter text built from what was parsed, with their invariants. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probes/nccl/nccl_pcap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* exactly the bytes read, not NUL-terminated: a line ends at '\n' or at
     * the end of the buffer */
    char *text = malloc(size ? size : 1);
    memcpy(text, data, size);
    unsigned short set[64];
    unsigned ports[64];
    size_t n = 0, np = 0;
    for (size_t at = 0; at < size;) {
        const char *nl = memchr(text + at, '\n', size - at);
        size_t len = nl ? (size_t)(nl - (text + at)) : size - at;
        pf_ncclpcap_sock so;
        if (pf_ncclpcap_tcpline(text + at, len, &so) == 0) {
            if ((so.family != 4 && so.family != 6) || so.lport > 65535 || so.rport > 65535 || so.state < 1 ||
                so.state > 12)
                abort();
            if (np < 64 && pf_ncclpcap_portset_add(set, &n, 64, so.lport) >= 0)
                ports[np++] = so.lport;
        }
        at += len + 1;
    }
    for (size_t i = 1; i < n; i++)
        if (set[i - 1] >= set[i])
            abort(); /* sorted, no duplicates */
    for (size_t i = 0; i < np; i++) {
        pf_ncclpcap_seg sg = {.sport = ports[i], .dport = 0};
        if (!pf_ncclpcap_belongs(&sg, set, n))
            abort();
    }
    char f[2048];
    int d = pf_ncclpcap_filter_text(ports, np, 64, f, sizeof f);
    if (d != (int)n || (n == 0 && strcmp(f, "tcp") != 0) || (n && strncmp(f, "tcp and (port ", 14) != 0))
        abort();
    free(text);
    return 0;
}
