/* SPDX-License-Identifier: MIT */
/*
 * etmem-cat - read ETMR streams, validate them, write them in either form.
 *
 * The plumbing tool of the record stream ("git cat-file" for captures): it
 * converts binary to text and back, joins captures into one stream, and with
 * --check only validates and counts. It has no policy of its own: all the
 * checking is the library reader's, so what etmem-cat accepts every stage
 * accepts.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "etmem/record.h"
#include "err.h"
#include "log.h"
#include "opt.h"

#define NTYPES 9  /* frame types 1..8 are counted */

static struct {
	int text, binary, check;
} cfg;

static const struct opt opts[] = {
	{ 't', "text", OPT_FLAG, &cfg.text, NULL,
	  "write the text form (the default)", 0, 0, 0, 0, NULL },
	{ 'b', "binary", OPT_FLAG, &cfg.binary, NULL,
	  "write the binary form", 0, 0, 0, 0, NULL },
	{ 'c', "check", OPT_FLAG, &cfg.check, NULL,
	  "only validate; print each input's item and marker counts to stderr",
	  0, 0, 0, 0, NULL },
	OPT_END
};

static const struct opt_cmd cmd = {
	.name = "etmem-cat",
	.synopsis = "[--text | --binary] [--check] [FILE | -]...",
	.description =
	    "Read ETMR record streams (binary or text, told apart by their first\n"
	    "bytes), validate every frame, and write them as one stream on standard\n"
	    "output: text by default, binary with --binary. With no FILE, or when\n"
	    "FILE is -, standard input is read.\n"
	    "\n"
	    "The output header is the first input's; each input's frames follow in\n"
	    "order, and one END frame closes the output, carrying the largest END\n"
	    "status of the inputs (0 when an input is text that ends without END).\n"
	    "Converting a stream written by etmem to text and back gives the same\n"
	    "bytes, so captures can be inspected, edited and replayed:\n"
	    "\n"
	    "    etmem-cat cap.etmr | less\n"
	    "    etmem-cat --binary hand.txt > cap.etmr\n"
	    "\n"
	    "With --check nothing is written to standard output; every input is\n"
	    "read to its end and a line per input goes to standard error with the\n"
	    "form and the count of each frame type (items for item frames).\n"
	    "docs/FORMAT.md describes both forms.",
	.opts = opts,
	.footer =
	    "Exit status:\n"
	    "  0   every input is a valid stream\n"
	    "  64  bad usage\n"
	    "  65  an input is malformed; the message names the file and the byte\n"
	    "      offset (binary) or line (text) and the frame type at fault\n"
	    "  66  an input file cannot be opened\n"
	    "  74  standard output cannot be written\n"
	    "  77  an input file cannot be read for lack of permission",
};

/* Open FILE or "-"; the fd, or -1 with e filled (EX_NOINPUT). */
static int
open_input(const char *path, struct err *e)
{
	int fd;

	if (strcmp(path, "-") == 0)
		return STDIN_FILENO;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return err_set(e, errno == EACCES ? EX_NOPERM : EX_NOINPUT, errno,
		    "cannot open '%s'", path);
	return fd;
}

static void
print_counts(const char *name, const struct etmr_reader *r,
    const uint64_t *count)
{
	char line[512];
	size_t n;

	n = (size_t)snprintf(line, sizeof(line), "%s: ok, %s", name,
	    etmr_reader_form(r) == ETMR_FORM_BINARY ? "binary" : "text");
	for (int t = 1; t < NTYPES && n < sizeof(line); t++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s %s %llu",
		    t == 1 ? ":" : ",", etmr_frame_name((uint16_t)t),
		    (unsigned long long)count[t]);
	fprintf(stderr, "%s\n", line);
}

/*
 * Copy (or only check) one input. *w is opened on the first input's header;
 * END frames are held back so the output ends with exactly one. Returns 0 or
 * the exit code for the error, which has been logged.
 */
static uint32_t out_page_size;  /* the first input's; 0 before it */

static int
cat_one(const char *path, struct etmr_writer **w, uint32_t *status)
{
	const char *name = strcmp(path, "-") == 0 ? "<stdin>" : path;
	uint64_t count[NTYPES] = { 0 };
	struct etmr_reader *r;
	struct etmr_frame f;
	struct err e = { 0 };
	int fd, rc;

	if ((fd = open_input(path, &e)) < 0)
		goto fail;
	if ((r = etmr_reader_open(fd, name, &e)) == NULL)
		goto fail_fd;
	out_page_size = etmr_reader_header(r)->page_size;
	if (!cfg.check && *w == NULL &&
	    (*w = etmr_writer_open(STDOUT_FILENO, cfg.binary ? ETMR_FORM_BINARY :
	    ETMR_FORM_TEXT, etmr_reader_header(r), &e)) == NULL)
		goto fail_r;
	if (out_page_size != 0 && etmr_reader_header(r)->page_size != out_page_size) {
		err_set(&e, EX_DATAERR, 0, "%s: page size %u differs from the first "
		    "input's %u", name, etmr_reader_header(r)->page_size, out_page_size);
		goto fail_r;
	}
	while ((rc = etmr_read(r, &f, &e)) == 1) {
		if (f.type < NTYPES)
			count[f.type] += f.n;
		if (f.type == ETMR_FRAME_END) {
			*status = f.end.status > *status ? f.end.status : *status;
			continue;
		}
		if (!cfg.check && etmr_write_frame(*w, &f, &e) != 0)
			goto fail_r;
	}
	if (rc < 0)
		goto fail_r;
	if (cfg.check)
		print_counts(name, r, count);
	etmr_reader_close(r);
	if (fd != STDIN_FILENO)
		close(fd);
	return 0;
fail_r:
	etmr_reader_close(r);
fail_fd:
	if (fd != STDIN_FILENO)
		close(fd);
fail:
	log_err(&e);
	return e.code != 0 ? e.code : EX_SOFTWARE;
}

int
main(int argc, char **argv)
{
	char *stdin_only[] = { "-", NULL };
	struct etmr_writer *w = NULL;
	struct err e = { 0 };
	uint32_t status = 0;
	char **files;
	int first, rc = 0;

	log_init("etmem-cat", LOG_LEVEL_INFO, 0);
	if ((first = opt_parse(&cmd, argc, argv, &e)) == OPT_HELP) {
		opt_usage(&cmd, stdout);
		return 0;
	}
	if (first < 0 || (cfg.text && cfg.binary)) {
		if (first >= 0)
			err_set(&e, EX_USAGE, 0, "--text and --binary exclude each other");
		log_err(&e);
		opt_synopsis(&cmd, stderr);
		return EX_USAGE;
	}
	files = first < argc ? argv + first : stdin_only;
	/* --check reads every input and reports each; a copy stops at the
	 * first bad one, so no frame of a broken input follows it. */
	for (; *files != NULL && (rc == 0 || cfg.check); files++) {
		int one = cat_one(*files, &w, &status);

		rc = rc != 0 ? rc : one;
	}
	if (w != NULL) {
		if (rc == 0 && etmr_write_end(w, status, &e) != 0)
			rc = e.code;
		if (etmr_writer_close(w, &e) != 0 && rc == 0)
			rc = e.code;
		if (rc == e.code && rc != 0)
			log_err(&e);
	}
	return rc;
}
