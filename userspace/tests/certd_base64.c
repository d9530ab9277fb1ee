// SPDX-License-Identifier: GPL-2.0
/*
 * daemon/base64.c, which carries the DER in CRL notifications and
 * revocation events: RFC 4648 vectors, and what is not base64 (white
 * space, '=' anywhere but at the end, other characters) is refused, not
 * decoded to a wrong length (EVP_DecodeBlock() alone accepts them).
 */
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "tap.h"

/* Does @text decode to @want (NULL: is it refused)? */
static bool decodes(const char *text, const char *want)
{
	size_t n = 0;
	unsigned char *out = b64_decode(text, strlen(text), &n);
	bool ok = want ? out && n == strlen(want) && !memcmp(out, want, n) :
			 !out;

	free(out);
	return ok;
}

int main(void)
{
	static const char *const vec[][2] = {
		{ "f", "Zg==" },	 { "fo", "Zm8=" },
		{ "foo", "Zm9v" },	 { "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	static const char *const bad[][2] = {
		{ "QUI=    ", "trailing spaces" },
		{ "QUJD\n\n\n\n", "trailing newlines" },
		{ "QQ==QQ==", "'=' inside" },
		{ "Q=QQ", "'=' second" },
		{ "QUJ=QUJD", "'=' ending the first quantum" },
		{ "QU I", "a space" },
		{ "QUJ\x01", "a control character" },
		{ "====", "only '='" },
		{ "Q===", "three '='" },
		{ "QUJD=", "not a multiple of 4" },
	};
	unsigned int i;
	char *enc;
	bool ok = true;

	tap_start();
	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		enc = b64_encode((const unsigned char *)vec[i][0],
				 strlen(vec[i][0]));
		ok = ok && enc && !strcmp(enc, vec[i][1]) &&
		     decodes(vec[i][1], vec[i][0]);
		free(enc);
	}
	tap_ok(ok, "the RFC 4648 vectors encode and decode");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		tap_ok(decodes(bad[i][0], NULL), "refused: %s", bad[i][1]);
	return tap_done();
}
