/* SPDX-License-Identifier: GPL-2.0 */
#ifndef GUISE_CLOCK_H
#define GUISE_CLOCK_H

#include <stdint.h>

/* Milliseconds of CLOCK_MONOTONIC: for timeouts, backoffs and rates. */
uint64_t guise_mono_ms(void);
/* Microseconds of CLOCK_REALTIME since the epoch: for serials that must
 * stay above those of an earlier run (a restart within a second too). */
uint64_t guise_real_us(void);

#endif
