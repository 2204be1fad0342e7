/* SPDX-License-Identifier: GPL-2.0 */
/* Golden manifests: the signed list of what an image may execute.
 *
 * Manifest (canonical JSON, see canonjson.h; the exact bytes are what is signed):
 *   {"config_digest":"sha256:<hex>",
 *    "files":{"/bin/sh":"<sha256 hex>",...},
 *    "image":"<reference>",
 *    ["index_digest":"sha256:<hex>",]      only when an image index was followed
 *    "manifest_digest":"sha256:<hex>",
 *    "version":1}
 * files: every regular file of the final rootfs (all layers applied, whiteouts honoured) that has
 * an exec bit (any of 0111) or whose content starts with "\x7fELF"; a hard link appears under its
 * own path with its target's digest; symlinks, directories and devices never appear.
 * Parsing is strict: at most TCL_GOLDEN_MAX_BYTES and TCL_GOLDEN_MAX_FILES; version 1; paths
 * absolute, normalised, <= 4096 bytes; digests 64 lowercase hex; an unknown key is an error naming
 * it; and the bytes must be exactly the canonical form, so a manifest has one reading only (no
 * duplicate keys, no whitespace games).  A generated manifest over the limit is refused too.
 *
 * Signature file (detached, canonical JSON, no trailing newline; at most 4 KiB):
 *   {"alg":"ed25519","keyid":"<64 hex>","sig":"<base64 of the 64-byte signature>"}
 * sig = Ed25519 (RFC 8032, pure) over the exact manifest bytes; keyid = lowercase hex SHA-256 of
 * the signer's public key as DER SubjectPublicKeyInfo (`openssl pkey -pubin -outform DER |
 * sha256sum`).  Keys are PEM: PKCS#8 "PRIVATE KEY" (unencrypted) and "PUBLIC KEY". */
#ifndef TCL_GOLDEN_H
#define TCL_GOLDEN_H

#include <stdbool.h>
#include <stddef.h>

#define TCL_GOLDEN_MAX_BYTES (4U << 20)
#define TCL_GOLDEN_MAX_FILES 1000000U
#define TCL_GOLDEN_MAX_SIG_BYTES 4096U

struct tcl_oci_image;

struct tcl_golden_file {
	char *path;
	unsigned char sha256[32];
};

struct tcl_golden {
	char *image;
	char manifest_digest[72];	/* "sha256:<hex>" */
	char config_digest[72];
	char index_digest[72];		/* "" when absent */
	size_t nfiles;
	struct tcl_golden_file *files;	/* sorted by path (bytewise) */
	size_t ndigests;
	/* distinct file digests, sorted: what the agent loads into its BPF maps */
	unsigned char (*digests)[32];
	char sha256[65];		/* hex SHA-256 of the manifest bytes themselves */
};

/* Generate from an OCI layout (tag as in tcl_oci_open). image_ref NULL: the layout's
 * io.containerd.image.name or org.opencontainers.image.ref.name annotation, else -EINVAL. */
int tcl_golden_generate(const char *layout_dir, const char *tag, const char *image_ref,
			char **json, size_t *len);
int tcl_golden_from_image(const struct tcl_oci_image *img, const char *image_ref,
			  char **json, size_t *len);

int tcl_golden_parse(const char *buf, size_t len, struct tcl_golden **out);
void tcl_golden_free(struct tcl_golden *g);
bool tcl_golden_has_digest(const struct tcl_golden *g, const unsigned char sha256[32]);
/* NULL when path is not listed */
const struct tcl_golden_file *tcl_golden_find(const struct tcl_golden *g, const char *path);

/* Sign msg; *sig (malloc'd, NUL-terminated) is the signature file content. */
int tcl_golden_sign(const char *key_pem_path, const char *msg, size_t len,
		    char **sig, size_t *sig_len);
/* 0: sig is a valid signature of msg by that key (keyid_out, if not NULL, gets its key id).
 * -EKEYREJECTED: signed by another key; -EBADMSG: signature does not match; -EINVAL: malformed
 * signature file or key. */
int tcl_golden_verify(const char *pub_pem_path, const char *msg, size_t len,
		      const char *sig, size_t sig_len, char keyid_out[65]);
/* The same with the public key PEM already in memory (the agent keeps its trust keys). */
int tcl_golden_verify_pem(const char *pub_pem, size_t pem_len, const char *msg, size_t len,
			  const char *sig, size_t sig_len, char keyid_out[65]);
/* Key id of a PEM public or private key file. */
int tcl_golden_keyid(const char *pem_path, char keyid[65]);
/* New Ed25519 key pair: PREFIX.key (0600) and PREFIX.pub; neither may exist yet (-EEXIST). */
int tcl_golden_keygen(const char *prefix, char keyid[65]);

#endif
