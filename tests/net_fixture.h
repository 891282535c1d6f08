/* net_fixture.h -- build interface snapshots for the network decision tests
 * from one line of text, so each table row reads like `ip -br addr`.
 *
 *   "lo@127.0.0.1/8@R eth0@10.0.0.5/24@R eth0@fe80::1/64@R docker0@172.17.0.1/16@R"
 *
 * Each item is name@address/prefix@flags in getifaddrs order (the kernel
 * lists every IPv4 address before any IPv6 one).  Flags: R up and running,
 * U up without carrier, D down.  An item "name@-@F" is an interface without
 * an address.  The kind comes from the name, as the kernel would report it:
 * lo loopback, docker.. and br-.. bridges, virbr.. bridge, veth.. veth driver,
 * wl.. wireless, tailscale.. tun, ib.. infiniband type, anything else hardware.
 */
#ifndef PF_TEST_NET_FIXTURE_H
#define PF_TEST_NET_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probes/net/netif.h"

static inline void fixture_kind(pf_netif *nif)
{
    const char *n = nif->name;
    if (strncmp(n, "lo", 2) == 0 && strlen(n) == 2) {
        nif->arphrd = 772;
    } else if (strncmp(n, "docker", 6) == 0 || strncmp(n, "br-", 3) == 0 || strncmp(n, "virbr", 5) == 0 ||
               strncmp(n, "l4tbr", 5) == 0) {
        nif->sys_bridge = true;
        nif->arphrd = 1;
    } else if (strncmp(n, "veth", 4) == 0) {
        strcpy(nif->driver, "veth");
        nif->arphrd = 1;
    } else if (strncmp(n, "wl", 2) == 0) {
        nif->sys_wireless = true;
        nif->has_device = true;
        nif->arphrd = 1;
    } else if (strncmp(n, "tailscale", 9) == 0) {
        nif->sys_tun = true;
        strcpy(nif->driver, "tun");
        nif->arphrd = 65534;
    } else if (strncmp(n, "ib", 2) == 0) {
        nif->arphrd = 32;
        nif->has_device = true;
    } else {
        nif->has_device = true;
        nif->arphrd = 1;
        strcpy(nif->driver, "mlx5_core");
    }
    pf_netif_classify(nif);
}

/* Fill s from the spec (s must be zeroed). */
static inline void fixture_build(pf_netif_set *s, const char *spec)
{
    char *copy = strdup(spec);
    for (char *save = NULL, *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *at1 = strchr(tok, '@');
        char *at2 = at1 ? strchr(at1 + 1, '@') : NULL;
        if (!at1 || !at2) {
            fprintf(stderr, "bad fixture item '%s'\n", tok);
            abort();
        }
        *at1 = *at2 = '\0';
        const char *name = tok, *addr = at1 + 1, *fl = at2 + 1;
        unsigned flags = 0;
        if (strchr(fl, 'R'))
            flags = PF_IFF_UP | PF_IFF_RUNNING;
        else if (strchr(fl, 'U'))
            flags = PF_IFF_UP;
        if (strcmp(name, "lo") == 0)
            flags |= PF_IFF_LOOPBACK;
        if (strcmp(addr, "-") == 0) {
            pf_netif *nif = pf_netif_set_add(s, name);
            nif->flags = flags;
        } else {
            char ip[64];
            int prefix = -1;
            strcpy(ip, addr);
            char *slash = strchr(ip, '/');
            if (slash) {
                prefix = atoi(slash + 1);
                *slash = '\0';
            }
            pf_netif_addr a;
            if (pf_netif_addr_parse(ip, &a) != 0) {
                fprintf(stderr, "bad fixture address '%s'\n", ip);
                abort();
            }
            a.prefix_len = prefix;
            for (int b = 0; b < prefix; b++)
                a.mask[b / 8] |= (uint8_t)(0x80 >> (b % 8));
            pf_netif_set_add_addr(s, name, flags, &a);
        }
        pf_netif *nif = pf_netif_set_add(s, name);
        strcpy(nif->operstate, flags & PF_IFF_RUNNING ? "up" : "down");
    }
    free(copy);
    for (size_t i = 0; i < s->n; i++) {
        s->ifs[i].ifindex = (int)i + 1;
        fixture_kind(&s->ifs[i]);
    }
    /* Link-local IPv6 entries carry their interface's index as scope. */
    for (size_t i = 0; i < s->nentries; i++)
        if (s->entries[i].addr.family == 6 && s->entries[i].addr.link_local) {
            const pf_netif *nif = pf_netif_find(s, s->entries[i].name);
            s->entries[i].addr.scope_id = nif ? (uint32_t)nif->ifindex : 0;
        }
}

#endif
