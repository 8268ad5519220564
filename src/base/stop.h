/* stop.h — "stop requested": the flag a training run's Ctrl-C / SIGTERM
 * handler sets (session/loop.c), read at the safe points of the long loops
 * (between decode steps of generation, between the sequences of a training
 * step, between judge requests) so an interrupted step is abandoned within
 * about one token or one sequence, not finished. Abandoning is safe there:
 * a step changes the trainer's state only in its last part (AdamW), after
 * every safe point. Outside a training run nothing sets the flag. */
#ifndef RG_STOP_H
#define RG_STOP_H

#include <signal.h>

/* 0, or the number of the signal that asked to stop. */
extern volatile sig_atomic_t rg_stop_requested;

/* 1 in a data-parallel run of several ranks (session.c, docs/distributed.md):
 * rg_stop_check then ignores the flag and the stop is taken at the next step
 * boundary, where the ranks agree on it; one rank abandoning a step alone
 * would leave the others waiting in a collective. */
extern int rg_stop_at_step_boundaries;

/* RG_OK, or (when a stop was requested) RG_ERR with the message "interrupted". */
int rg_stop_check(void);

#endif
