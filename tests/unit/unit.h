/* SPDX-License-Identifier: MIT */
/*
 * unit.h - the smallest unit-test harness that prints TAP.
 *
 *   static void test_rec__roundtrip(void) { CHECK(x == 1); CHECK_EQ_U(a, b); }
 *   int main(void) { RUN(test_rec__roundtrip); return unit_done(); }
 *
 * Each RUN prints "ok N - name" or "not ok N - name" with the failed checks
 * as "# file:line: expr" comments; tests/run.sh counts those lines.
 */
#ifndef ETMEM_UNIT_H
#define ETMEM_UNIT_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int unit_n, unit_failed_tests, unit_cur_failed;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			unit_cur_failed++;                                     \
			printf("# %s:%d: CHECK(%s) failed\n", __FILE__,        \
			    __LINE__, #cond);                                  \
		}                                                              \
	} while (0)

#define CHECK_EQ_U(a, b)                                                       \
	do {                                                                   \
		uint64_t ua_ = (uint64_t)(a), ub_ = (uint64_t)(b);             \
		if (ua_ != ub_) {                                              \
			unit_cur_failed++;                                     \
			printf("# %s:%d: %s == %s failed: %" PRIu64            \
			    " != %" PRIu64 "\n", __FILE__, __LINE__, #a, #b,   \
			    ua_, ub_);                                         \
		}                                                              \
	} while (0)

#define CHECK_STR(a, b)                                                        \
	do {                                                                   \
		const char *sa_ = (a), *sb_ = (b);                             \
		if (sa_ == NULL || sb_ == NULL || strcmp(sa_, sb_) != 0) {     \
			unit_cur_failed++;                                     \
			printf("# %s:%d: %s == %s failed: '%s' != '%s'\n",     \
			    __FILE__, __LINE__, #a, #b, sa_ ? sa_ : "(null)",  \
			    sb_ ? sb_ : "(null)");                             \
		}                                                              \
	} while (0)

#define RUN(fn)                                                                \
	do {                                                                   \
		unit_cur_failed = 0;                                           \
		fn();                                                          \
		unit_n++;                                                      \
		if (unit_cur_failed) {                                         \
			unit_failed_tests++;                                   \
			printf("not ok %d - %s\n", unit_n, #fn);               \
		} else {                                                       \
			printf("ok %d - %s\n", unit_n, #fn);                   \
		}                                                              \
		fflush(stdout);                                                \
	} while (0)

static inline int
unit_done(void)
{
	printf("1..%d\n", unit_n);
	return unit_failed_tests ? 1 : 0;
}

#endif /* ETMEM_UNIT_H */
