/* stop.c — see stop.h. */
#include "base/stop.h"

#include "base/error.h"

volatile sig_atomic_t rg_stop_requested = 0;

int rg_stop_at_step_boundaries = 0;

int rg_stop_check(void) {
    if (!rg_stop_requested || rg_stop_at_step_boundaries) return RG_OK;
    return rg_error("interrupted (signal %d)", (int)rg_stop_requested);
}
