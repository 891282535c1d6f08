/* auth.h -- the run's shared secret and the challenge-response that proves,
 * both ways, that coordinator and agent hold it.
 *
 * The coordinator draws a fresh 32-byte secret per run (getrandom) and hands
 * it to each agent through the launcher's stdin or environment -- never argv,
 * never the record.  On connect:
 *
 *   coordinator -> agent  hello   {nonce: Nc}
 *   agent -> coordinator  auth    {node, nonce: Na, mac: HMAC(K, "pf1|agent|" node "|" Nc Na)}
 *   coordinator -> agent  auth_ok {mac: HMAC(K, "pf1|coord|" Nc Na)}
 *
 * The role labels stop a reflected MAC from being accepted the other way;
 * fresh nonces on both sides stop replay.  MACs are compared with
 * CRYPTO_memcmp (time independent of where they differ).
 */
#ifndef PF_AUTH_H
#define PF_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "core/util.h"

#define PF_AUTH_KEY_LEN 32
#define PF_AUTH_NONCE_LEN 32
#define PF_AUTH_MAC_LEN 32
/* The environment variable a launcher may use instead of stdin; the agent
 * removes it from its environment as soon as it has read it. */
#define PF_AUTH_ENV "PREFLIGHT_AGENT_SECRET"

/* Fill buf with n random bytes (getrandom). */
int pf_auth_random(unsigned char *buf, size_t n, pf_err *err);
/* Lower-case hex of n bytes into out (2n+1 bytes). */
void pf_auth_hex(const unsigned char *in, size_t n, char *out);
/* Parse exactly 2n hex digits; 0 or -1. */
int pf_auth_unhex(const char *hex, unsigned char *out, size_t n);

/* mac = HMAC-SHA256(key, "pf1|" role "|" node "|" nc na).  role is "agent"
 * or "coord"; node may be "" (the coordinator's proof names no node). */
int pf_auth_mac(const unsigned char key[PF_AUTH_KEY_LEN], const char *role, const char *node,
                const unsigned char nc[PF_AUTH_NONCE_LEN], const unsigned char na[PF_AUTH_NONCE_LEN],
                unsigned char mac[PF_AUTH_MAC_LEN], pf_err *err);
/* Recompute and compare in constant time; mac_hex is what the peer sent. */
bool pf_auth_check(const unsigned char key[PF_AUTH_KEY_LEN], const char *role, const char *node,
                   const unsigned char nc[PF_AUTH_NONCE_LEN],
                   const unsigned char na[PF_AUTH_NONCE_LEN], const char *mac_hex);

/* Read the secret as 64 hex digits (one line) from fd before the deadline.
 * Accepts trailing whitespace; anything else is an error naming the source. */
int pf_auth_read_secret_fd(int fd, double timeout_s, unsigned char key[PF_AUTH_KEY_LEN],
                           pf_err *err);

#endif
