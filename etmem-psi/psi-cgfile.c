/* SPDX-License-Identifier: MIT */
/*
 * psi-cgfile.c - the cgroup file formats both hierarchies share: a PSI
 * pressure file, a byte count ("max" for none), and the memory.reclaim
 * request. Paths come from the backends; this file only reads and writes.
 */
#include "psi.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "err.h"
#include "procfs.h"

#define CGFILE_MAX 4096

/* One "avgN=X" value from a line; -1 if absent or malformed. */
static int
pressure_field(const char *line, const char *key, double *out)
{
	size_t klen = strlen(key);
	const char *p = line;
	char *end;

	while ((p = strstr(p, key)) != NULL) {
		/* whole token only: preceded by a blank, followed by '=' */
		if ((p == line || p[-1] == ' ') && p[klen] == '=') {
			errno = 0;
			*out = strtod(p + klen + 1, &end);
			if (errno != 0 || end == p + klen + 1 ||
			    (*end != ' ' && *end != '\n' && *end != '\0') ||
			    !(*out >= 0))
				return -1;
			return 0;
		}
		p += klen;
	}
	return -1;
}

int
psi_parse_pressure(const char *buf, double *avg10, double *avg60)
{
	const char *line = buf;
	char one[512];

	/* The "some" line; "full" may follow (or precede, in no kernel). */
	while (line != NULL && *line != '\0') {
		const char *nl = strchr(line, '\n');
		size_t len = nl != NULL ? (size_t)(nl - line) : strlen(line);

		if (len >= 5 && strncmp(line, "some ", 5) == 0) {
			if (len >= sizeof(one))
				return -1;
			memcpy(one, line, len);
			one[len] = '\0';
			if (pressure_field(one, "avg10", avg10) < 0 ||
			    pressure_field(one, "avg60", avg60) < 0)
				return -1;
			return 0;
		}
		line = nl != NULL ? nl + 1 : NULL;
	}
	return -1;
}

int
psi_parse_bytes(const char *buf, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (strcmp(buf, "max\n") == 0 || strcmp(buf, "max") == 0) {
		*out = UINT64_MAX;
		return 0;
	}
	if (*buf < '0' || *buf > '9')
		return -1;
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (errno != 0 || (*end != '\n' && *end != '\0') ||
	    (*end == '\n' && end[1] != '\0'))
		return -1;
	*out = v;
	return 0;
}

int
psi_read_pressure(const char *path, double *avg10, double *avg60, struct err *e)
{
	char buf[CGFILE_MAX];

	if (procfs_read_file(path, buf, sizeof(buf), e) < 0)
		return -1;
	if (psi_parse_pressure(buf, avg10, avg60) < 0)
		return err_set(e, EX_DATAERR, 0,
		    "'%s': no 'some avg10=… avg60=…' line", path);
	return 0;
}

int
psi_read_bytes(const char *path, uint64_t *out, struct err *e)
{
	char buf[128];

	if (procfs_read_file(path, buf, sizeof(buf), e) < 0)
		return -1;
	if (psi_parse_bytes(buf, out) < 0)
		return err_set(e, EX_DATAERR, 0,
		    "'%s': not a byte count or 'max'", path);
	return 0;
}

/*
 * The request is the decimal count and a newline, in one write(2) and no
 * NULs (the original sent a 32-byte buffer padded with NULs: W-33). The file
 * is opened O_APPEND: the kernel ignores the offset, and a fixture's regular
 * file keeps every request for the test to read. A short write is an error,
 * never completed by a second write: the tail of a number is another number.
 */
int
psi_write_reclaim(const char *path, uint64_t bytes, struct err *e)
{
	char buf[32];
	ssize_t n;
	int fd, len;

	len = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", bytes);
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, errno == EACCES || errno == EPERM ? EX_NOPERM :
		    EX_IOERR, errno, "cannot open '%s'", path);
	n = write(fd, buf, (size_t)len);
	if (n < 0) {
		int saved = errno;

		close(fd);
		/* memory.reclaim: "-EAGAIN if less than requested could be
		 * reclaimed after retries" - a result, not a failure. */
		if (saved == EAGAIN)
			return 1;
		return err_set(e, saved == EINTR ? EX_TEMPFAIL : EX_IOERR, saved,
		    "cannot write %" PRIu64 " to '%s'", bytes, path);
	}
	close(fd);
	if (n != len)
		return err_set(e, EX_IOERR, 0,
		    "short write to '%s': %zd of %d bytes", path, n, len);
	return 0;
}

int
psi_cg_path(char *buf, size_t len, const char *root, const char *rel,
    const char *file, struct err *e)
{
	int n;

	if (file != NULL)
		n = snprintf(buf, len, "%s/%s/%s", root, rel, file);
	else
		n = snprintf(buf, len, "%s/%s", root, rel);
	if (n < 0 || (size_t)n >= len)
		return err_set(e, EX_DATAERR, ENAMETOOLONG,
		    "cgroup path '%s/%s' is too long", root, rel);
	return 0;
}
