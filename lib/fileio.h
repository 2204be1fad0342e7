/* SPDX-License-Identifier: GPL-2.0 */
/* Whole-file reads and writes, and the EINTR/short-count loops on file descriptors. */
#ifndef TCL_FILEIO_H
#define TCL_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

/* Reads until @len bytes or end of file: the count read (less than @len only at end of file)
 * or -errno.  What a short read means is the caller's to say. */
ssize_t tcl_read_full(int fd, void *buf, size_t len);
/* Writes all @len bytes. 0 or -errno. */
int tcl_write_all(int fd, const void *buf, size_t len);
/* Read @fd to its end, at most @max bytes (NUL-terminated; *out malloc'd). 0, -EFBIG or -errno;
 * @fd stays open. */
int tcl_read_fd(int fd, size_t max, char **out, size_t *len);
/* Read a whole file of at most max bytes (NUL-terminated). 0, -EFBIG or -errno. */
int tcl_read_file(const char *path, size_t max, char **out, size_t *len);
/* The same for a regular file only (never blocks on a FIFO): -EINVAL for anything else,
 * -EFBIG when it is larger than @max, also when it grows while being read. */
int tcl_read_regular_file(const char *path, size_t max, char **out, size_t *len);
/* Write a file atomically: temp file in the same dir, fsync, rename. */
int tcl_write_file_atomic(const char *path, const void *buf, size_t len, unsigned int mode);
/* Create @path, which must not exist (nor be a symlink), write, fsync; removed again on any
 * failure. 0 or -errno. */
int tcl_write_file_new(const char *path, const void *buf, size_t len, unsigned int mode);

#endif
