/* auth.c -- see auth.h. */
#include "cluster/auth.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

int pf_auth_random(unsigned char *buf, size_t n, pf_err *err)
{
    size_t off = 0;
    while (off < n) {
        ssize_t r = getrandom(buf + off, n - off, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return pf_err_errno(err, errno, "getrandom");
        }
        off += (size_t)r;
    }
    return 0;
}

void pf_auth_hex(const unsigned char *in, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[in[i] >> 4];
        out[2 * i + 1] = d[in[i] & 15];
    }
    out[2 * n] = 0;
}

int pf_auth_unhex(const char *hex, unsigned char *out, size_t n)
{
    if (!hex || strlen(hex) != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int h = pf_hexval(hex[2 * i]), l = pf_hexval(hex[2 * i + 1]);
        if (h < 0 || l < 0)
            return -1;
        out[i] = (unsigned char)(h << 4 | l);
    }
    return 0;
}

int pf_auth_mac(const unsigned char key[PF_AUTH_KEY_LEN], const char *role, const char *node,
                const unsigned char nc[PF_AUTH_NONCE_LEN], const unsigned char na[PF_AUTH_NONCE_LEN],
                unsigned char mac[PF_AUTH_MAC_LEN], pf_err *err)
{
    /* "pf1|" role "|" node "|" nc na: node names are bounded by the caller
     * (<= 255 bytes), so the message fits a fixed buffer. */
    unsigned char msg[4 + 8 + 1 + 256 + 1 + 2 * PF_AUTH_NONCE_LEN];
    size_t rl = strlen(role), nl = strlen(node);
    if (rl > 8 || nl > 255)
        return pf_err_set(err, "auth: role or node name too long");
    size_t off = 0;
    memcpy(msg + off, "pf1|", 4), off += 4;
    memcpy(msg + off, role, rl), off += rl;
    msg[off++] = '|';
    memcpy(msg + off, node, nl), off += nl;
    msg[off++] = '|';
    memcpy(msg + off, nc, PF_AUTH_NONCE_LEN), off += PF_AUTH_NONCE_LEN;
    memcpy(msg + off, na, PF_AUTH_NONCE_LEN), off += PF_AUTH_NONCE_LEN;
    unsigned int ml = 0;
    if (!HMAC(EVP_sha256(), key, PF_AUTH_KEY_LEN, msg, off, mac, &ml) || ml != PF_AUTH_MAC_LEN)
        return pf_err_set(err, "auth: HMAC-SHA256 failed in libcrypto");
    return 0;
}

bool pf_auth_check(const unsigned char key[PF_AUTH_KEY_LEN], const char *role, const char *node,
                   const unsigned char nc[PF_AUTH_NONCE_LEN],
                   const unsigned char na[PF_AUTH_NONCE_LEN], const char *mac_hex)
{
    unsigned char want[PF_AUTH_MAC_LEN], got[PF_AUTH_MAC_LEN];
    if (pf_auth_unhex(mac_hex, got, sizeof got) < 0)
        return false;
    if (pf_auth_mac(key, role, node, nc, na, want, NULL) < 0)
        return false;
    return CRYPTO_memcmp(want, got, sizeof want) == 0;
}

int pf_auth_read_secret_fd(int fd, double timeout_s, unsigned char key[PF_AUTH_KEY_LEN], pf_err *err)
{
    char line[2 * PF_AUTH_KEY_LEN + 8];
    size_t n = 0;
    double deadline = pf_now() + timeout_s;
    /* Read byte by byte up to the newline, so nothing after the secret is
     * consumed from a shared stdin. */
    while (n < sizeof line - 1) {
        double left = deadline - pf_now();
        if (left <= 0)
            return pf_err_set(err, "no secret on stdin within %.0f s (the launcher passes it there)",
                              timeout_s);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            continue;
        char c;
        ssize_t k = read(fd, &c, 1);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        if (c == '\n')
            break;
        line[n++] = c;
    }
    line[n] = 0;
    pf_str_trim(line);
    int rc = pf_auth_unhex(line, key, PF_AUTH_KEY_LEN);
    OPENSSL_cleanse(line, sizeof line);
    if (rc < 0)
        return pf_err_set(err, "the secret on stdin is not %d hex digits", 2 * PF_AUTH_KEY_LEN);
    return 0;
}
