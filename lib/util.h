/* SPDX-License-Identifier: GPL-2.0 */
/* Small helpers shared by the programs: digests, hex, files. */
#ifndef TCL_UTIL_H
#define TCL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TCL_SHA256_HEX_LEN 64

/* SHA-256 of a file's content, streamed. 0 or -errno. */
int tcl_sha256_file(const char *path, uint8_t out[32]);
int tcl_sha256_fd(int fd, uint8_t out[32]);
void tcl_hex(const uint8_t *in, size_t len, char *out /* 2*len+1 */);
/* Parse exactly 2*len lowercase or uppercase hex digits. 0 or -EINVAL. */
int tcl_unhex(const char *in, uint8_t *out, size_t len);
/* Read a whole file of at most max bytes (NUL-terminated). 0, -EFBIG or -errno. */
int tcl_read_file(const char *path, size_t max, char **out, size_t *len);
/* The same for a regular file only (never blocks on a FIFO): -EINVAL for anything else,
 * -EFBIG when it is larger than @max, also when it grows while being read. */
int tcl_read_regular_file(const char *path, size_t max, char **out, size_t *len);
/* Write a file atomically: temp file in the same dir, fsync, rename. */
int tcl_write_file_atomic(const char *path, const void *buf, size_t len, unsigned int mode);
/* Create a directory and its parents. */
int tcl_mkdir_p(const char *path, unsigned int mode);
/* RFC 3339 UTC with nanoseconds: "2026-11-23T13:45:01.123456789Z". buf >= 32. */
void tcl_rfc3339(int64_t sec, long nsec, char *buf, size_t len);
/* Wall-clock nanoseconds corresponding to a CLOCK_BOOTTIME timestamp. */
void tcl_boot_to_wall(uint64_t boot_ns, int64_t *sec, long *nsec);
/* Is the file an ELF object (starts with \x7fELF)? */
bool tcl_is_elf(int fd);

#endif
