// SPDX-License-Identifier: MIT
#include "keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int nw_keys_derive(struct nw_keys *k, const uint8_t master[NW_KEY_MASTER_LEN])
{
	_Static_assert(NW_KEY_SAMPLE_LEN == crypto_shorthash_KEYBYTES, "SipHash key size");
	_Static_assert(NW_KEY_REPORT_LEN == crypto_auth_hmacsha256_KEYBYTES, "HMAC key size");
	_Static_assert(NW_KEY_REPORT_LEN == crypto_aead_xchacha20poly1305_ietf_KEYBYTES,
		       "XChaCha20-Poly1305 key size");
	_Static_assert(NW_KEY_MASTER_LEN == crypto_kdf_KEYBYTES, "KDF master key size");
	_Static_assert(sizeof(NW_KDF_CONTEXT) - 1 == crypto_kdf_CONTEXTBYTES, "KDF context size");

	memset(k, 0, sizeof(*k));
	if (sodium_init() < 0 ||
	    crypto_kdf_derive_from_key(k->sample, sizeof(k->sample), NW_KDF_ID_SAMPLE,
				       NW_KDF_CONTEXT, master) ||
	    crypto_kdf_derive_from_key(k->report, sizeof(k->report), NW_KDF_ID_REPORT,
				       NW_KDF_CONTEXT, master) ||
	    crypto_kdf_derive_from_key(k->report_mac, sizeof(k->report_mac), NW_KDF_ID_REPORT_MAC,
				       NW_KDF_CONTEXT, master) ||
	    crypto_kdf_derive_from_key(k->report_aead, sizeof(k->report_aead),
				       NW_KDF_ID_REPORT_AEAD, NW_KDF_CONTEXT, master)) {
		nw_keys_wipe(k);
		return -1;
	}
	k->present = 1;
	return 0;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int nw_keys_load(struct nw_keys *k, const char *path, const char **why)
{
	char text[160];
	uint8_t master[NW_KEY_MASTER_LEN];
	struct stat st;
	size_t n = 0, b = 0, e;
	ssize_t r;
	int fd, rc = -1;

	memset(k, 0, sizeof(*k));
	/* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
	 * writer forever; the type check below refuses it right after. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		*why = errno == ENOENT  ? "key file does not exist"
		       : errno == ELOOP ? "key file is a symbolic link"
					: "cannot open the key file";
		return -1;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		*why = "key file is not a regular file";
		goto out;
	}
	/* Someone else's file could be swapped for their key at any time. */
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		*why = "key file is owned by another user (chown it to this one or root)";
		goto out;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		*why = "key file is readable by group or others (chmod 600 it)";
		goto out;
	}
	while (n < sizeof(text) && (r = read(fd, text + n, sizeof(text) - n)) > 0)
		n += (size_t)r;
	if (n == sizeof(text)) {
		*why = "key file is too long: expected 64 hex digits";
		goto out;
	}
	while (b < n && is_space(text[b]))
		b++;
	e = n;
	while (e > b && is_space(text[e - 1]))
		e--;
	if (e - b != 2 * NW_KEY_MASTER_LEN) {
		*why = "key file must hold exactly 64 hex digits (32 bytes)";
		goto out;
	}
	for (size_t i = b; i < e; i++) {
		char c = text[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
			*why = "key file holds something other than hex digits";
			goto out;
		}
	}
	if (sodium_init() < 0 ||
	    sodium_hex2bin(master, sizeof(master), text + b, e - b, NULL, NULL, NULL)) {
		*why = "key file holds something other than hex digits";
		goto out;
	}
	if (nw_keys_derive(k, master)) {
		*why = "cannot derive keys (libsodium failed to initialise)";
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(master, sizeof(master));
	sodium_memzero(text, sizeof(text));
	close(fd);
	if (rc)
		nw_keys_wipe(k);
	return rc;
}

void nw_keys_wipe(struct nw_keys *k)
{
	sodium_memzero(k, sizeof(*k));
}
