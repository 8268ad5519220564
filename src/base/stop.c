/* stop.c — see stop.h. */
#include "base/stop.h"

#include "base/error.h"

volatile sig_atomic_t rg_stop_requested = 0;

int rg_stop_check(void) { return rg_stop_requested ? rg_error("interrupted (signal %d)", (int)rg_stop_requested) : RG_OK; }
