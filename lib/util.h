/* SPDX-License-Identifier: GPL-2.0 */
/* Small helpers shared by the programs: digests, directories, time, ELF. */
#ifndef TCL_UTIL_H
#define TCL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Until every caller includes what it uses. */
#include "fileio.h"
#include "hexb64.h"

#define TCL_SHA256_HEX_LEN 64

/* SHA-256 of a file's content, streamed. 0 or -errno. */
int tcl_sha256_file(const char *path, uint8_t out[32]);
int tcl_sha256_fd(int fd, uint8_t out[32]);
/* Create a directory and its parents. */
int tcl_mkdir_p(const char *path, unsigned int mode);
/* RFC 3339 UTC with nanoseconds: "2026-11-23T13:45:01.123456789Z". buf >= 32. */
void tcl_rfc3339(int64_t sec, long nsec, char *buf, size_t len);
/* Wall-clock nanoseconds corresponding to a CLOCK_BOOTTIME timestamp. */
void tcl_boot_to_wall(uint64_t boot_ns, int64_t *sec, long *nsec);
/* A listen address "HOST:PORT" or "[IPV6]:PORT" (port 1-65535, host non-empty): host into
 * @host (brackets removed), the port into *@port. 0 or -EINVAL. */
int tcl_parse_hostport(const char *addr, char *host, size_t len, uint16_t *port);
/* Is the file an ELF object (starts with \x7fELF)? */
bool tcl_is_elf(int fd);

#endif
