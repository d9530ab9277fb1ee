// SPDX-License-Identifier: GPL-2.0
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <linux/guise.h>

#include "keyfile.h"
#include "keying.h"

#define KF_MAGIC "GKF1"
#define KF_KDF_PBKDF2_SHA256 1
#define KF_CLEAR 40 /* magic, kdf, reserved, iterations, salt, nonce */

static int derive(const char *pass, size_t passlen, const uint8_t *salt,
		  uint32_t iterations, uint8_t key[32])
{
	return PKCS5_PBKDF2_HMAC(pass, (int)passlen, salt, 16, (int)iterations,
				 EVP_sha256(), 32, key) == 1 ?
		       0 :
		       -EIO;
}

int guise_keyfile_seal(const uint8_t secret[32], const char *pass,
		       size_t passlen, uint32_t iterations,
		       uint8_t out[GUISE_KEYFILE_LEN])
{
	uint8_t key[32];
	uint32_t be = htobe32(iterations);
	int err;

	if (!iterations || iterations > GUISE_KEYFILE_MAX_ITERATIONS)
		return -EINVAL;
	memset(out, 0, GUISE_KEYFILE_LEN);
	memcpy(out, KF_MAGIC, 4);
	out[4] = KF_KDF_PBKDF2_SHA256;
	memcpy(out + 8, &be, 4);
	if (RAND_bytes(out + 12, 16 + 12) != 1)
		return -EIO;
	err = derive(pass, passlen, out + 12, iterations, key);
	if (!err)
		err = guise_keying_aead(true, GUISE_ALG_CHACHA20_POLY1305, key,
					out + 28, out, KF_CLEAR, secret, 32,
					out + KF_CLEAR, out + KF_CLEAR + 32);
	explicit_bzero(key, sizeof(key));
	return err;
}

int guise_keyfile_open(const uint8_t *in, size_t len, const char *pass,
		       size_t passlen, uint8_t secret[32])
{
	uint8_t key[32];
	uint32_t iterations;
	int err;

	if (len != GUISE_KEYFILE_LEN || memcmp(in, KF_MAGIC, 4) ||
	    in[4] != KF_KDF_PBKDF2_SHA256 || in[5] || in[6] || in[7])
		return -EINVAL;
	memcpy(&iterations, in + 8, 4);
	iterations = be32toh(iterations);
	if (!iterations || iterations > GUISE_KEYFILE_MAX_ITERATIONS)
		return -EINVAL;
	err = derive(pass, passlen, in + 12, iterations, key);
	if (!err)
		err = guise_keying_aead(false, GUISE_ALG_CHACHA20_POLY1305, key,
					in + 28, in, KF_CLEAR, in + KF_CLEAR,
					32, secret,
					(uint8_t *)in + KF_CLEAR + 32);
	explicit_bzero(key, sizeof(key));
	return err;
}

int guise_keyfile_read_pass(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	return n ? (int)n : -EINVAL;
}
