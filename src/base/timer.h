/* timer.h — monotonic wall-clock seconds. */
#ifndef RG_TIMER_H
#define RG_TIMER_H

double rg_now(void);

#endif
