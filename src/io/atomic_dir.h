/* atomic_dir.h — folders written as one unit (checkpoints, model folders,
 * evaluation reports, generated worlds).
 *
 * A folder DIR is written into DIR.tmp-<pid>, each file fsync'd; the commit
 * then switches it in with renames only, in an order that leaves a complete
 * copy reachable at every instant:
 *
 *   1. DIR.tmp-<pid>  -> DIR.new-<pid>   (".new" means: complete, ready)
 *   2. DIR            -> DIR.old-<pid>   (when DIR exists)
 *   3. DIR.new-<pid>  -> DIR
 *   4. DIR.old-<pid> removed, then the copies left by dead processes
 *
 * A process killed between 2 and 3 leaves no DIR, but a complete .new (and
 * the previous .old) beside it; rg_dir_recover, run by --resume and by the
 * next commit, finishes that switch. ".tmp" copies are never trusted (they
 * may be half-written); copies of a live process (another rgsd writing the
 * same folder) are never touched, nor a look-alike folder that is not rgsd's
 * (a copy is rgsd's when it holds the temp mark, a file rgsd writes, or
 * nothing). */
#ifndef RG_ATOMIC_DIR_H
#define RG_ATOMIC_DIR_H

/* Begin returns the temp folder (malloc'd) to write into; commit switches it
 * in as final_dir (and frees it); abort removes it (and frees it). An existing
 * final_dir is replaced only when it is empty or holds a file rgsd writes
 * (config.json, adapter_config.json, train_state.safetensors, report.json,
 * world.json, compare.json): never a user's unrelated folder given by mistake. */
char *rg_dir_begin(const char *final_dir);
int rg_dir_commit(char *temp_dir, const char *final_dir);
void rg_dir_abort(char *temp_dir);

/* Repairs what a killed commit left beside final_dir: when a dead process's
 * complete copy (".new-PID") is there it becomes final_dir (the newest
 * save); else, when final_dir is missing, the newest ".old-PID" is put back.
 * Then every ".tmp-/.new-/.old-PID" copy of a dead process is removed.
 * *recovered (may be NULL) is set to 1 when final_dir was replaced. */
int rg_dir_recover(const char *final_dir, int *recovered);
/* For readers (model and adapter loading): rg_dir_recover only when path is
 * missing, so reading an existing folder never renames anything. */
int rg_dir_recover_missing(const char *path);

#endif
