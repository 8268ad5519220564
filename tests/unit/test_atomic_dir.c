/* test_atomic_dir.c — folders written as one unit (io/atomic_dir.h): a
 * process killed inside the commit's window (no final folder) leaves
 * something rg_dir_recover turns back into the folder, and copies left by
 * dead processes are removed while a live one's are kept. */
#include "test_util.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "base/error.h"
#include "io/atomic_dir.h"
#include "io/file.h"

static void put(const char *dir, const char *name, const char *text) {
    char *p = rg_path_join(dir, name);
    assert_int_equal(rg_write_file_atomic(p, text, strlen(text)), RG_OK);
    free(p);
}

static char *get(const char *dir, const char *name) {
    char *p = rg_path_join(dir, name), *text = NULL;
    size_t len;
    if (rg_read_file(p, &text, &len) != RG_OK) text = NULL;
    free(p);
    return text;
}

/* Entries of dir other than "." and "..". */
static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

/* A pid that no process has any more (a reaped child). */
static pid_t dead_pid(void) {
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    waitpid(pid, NULL, 0);
    return pid;
}

static void save(const char *final, const char *text) {
    char *tmp = rg_dir_begin(final);
    assert_non_null(tmp);
    put(tmp, "train_state.safetensors", text);
    assert_int_equal(rg_dir_commit(tmp, final), RG_OK);
}

/* Kills a child inside the commit window: the folder is gone, --resume's
 * recovery brings the newer copy back and nothing is left beside it. */
static void test_killed_in_window(void **s) {
    (void)s;
    char *root = test_tmpdir();
    char final[512], old[600];
    snprintf(final, sizeof final, "%s/ck", root);
    save(final, "step 1");
    pid_t child = fork();
    if (child == 0) {
        setenv("RGSD_TEST_COMMIT_DELAY_MS", "60000", 1);
        freopen("/dev/null", "w", stderr);
        char *tmp = rg_dir_begin(final);
        put(tmp, "train_state.safetensors", "step 2");
        rg_dir_commit(tmp, final);
        _exit(0);
    }
    snprintf(old, sizeof old, "%s.old-%ld", final, (long)child);
    for (int i = 0; i < 2000 && !rg_file_exists(old); i++) usleep(5000);
    assert_true(rg_file_exists(old));
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    assert_false(rg_file_exists(final)); /* the window: no folder under its name */
    int recovered = 0;
    assert_int_equal(rg_dir_recover(final, &recovered), RG_OK);
    assert_int_equal(recovered, 1);
    char *text = get(final, "train_state.safetensors");
    assert_string_equal(text, "step 2"); /* the complete newer copy */
    free(text);
    assert_int_equal(count_entries(root), 1);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    assert_int_equal(system(cmd), 0);
    free(root);
}

static void make_copy(const char *final, const char *kind, long pid, const char *text) {
    char path[600];
    snprintf(path, sizeof path, "%s.%s-%ld", final, kind, pid);
    assert_int_equal(rg_mkdir_p(path), RG_OK);
    put(path, "train_state.safetensors", text);
}

/* Only an old copy survived (killed before the new one was complete): it comes back. */
static void test_recover_old_only(void **s) {
    (void)s;
    char *root = test_tmpdir();
    char final[512];
    snprintf(final, sizeof final, "%s/ck", root);
    long gone = (long)dead_pid();
    make_copy(final, "old", gone, "previous");
    make_copy(final, "tmp", gone, "half");
    assert_int_equal(rg_dir_recover(final, NULL), RG_OK);
    char *text = get(final, "train_state.safetensors");
    assert_string_equal(text, "previous"); /* a .tmp copy is never trusted */
    free(text);
    assert_int_equal(count_entries(root), 1);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    assert_int_equal(system(cmd), 0);
    free(root);
}

/* A save removes dead processes' copies (each a full checkpoint, or a temp
 * one with only its mark) and keeps a live one's and a user's look-alike. */
static void test_save_cleans_orphans(void **s) {
    (void)s;
    char *root = test_tmpdir();
    char final[512], live[600];
    snprintf(final, sizeof final, "%s/ck", root);
    save(final, "one");
    long gone = (long)dead_pid();
    make_copy(final, "tmp", gone, "x");
    make_copy(final, "old", gone, "y");
    make_copy(final, "tmp", (long)getppid(), "being written by a live process");
    snprintf(live, sizeof live, "%s.tmp-%ld", final, (long)getppid());
    char foreign[600]; /* a user's folder that only looks like a copy */
    snprintf(foreign, sizeof foreign, "%s.old-%ld", final, (long)dead_pid());
    assert_int_equal(rg_mkdir_p(foreign), RG_OK);
    put(foreign, "notes.txt", "mine");
    char *partial = rg_dir_begin(final); /* a temp copy killed before its first file: only the mark */
    char dead_tmp[600];
    snprintf(dead_tmp, sizeof dead_tmp, "%s.tmp-%ld", final, (long)dead_pid());
    assert_int_equal(rename(partial, dead_tmp), 0);
    free(partial);
    assert_int_equal(count_entries(root), 6);
    save(final, "two");
    assert_int_equal(count_entries(root), 3);
    assert_true(rg_file_exists(live));
    assert_true(rg_file_exists(foreign)); /* dead pid, but not rgsd's: kept */
    char *text = get(final, "train_state.safetensors");
    assert_string_equal(text, "two");
    free(text);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    assert_int_equal(system(cmd), 0);
    free(root);
}

/* A folder that is not rgsd's is never replaced; eval reports and worlds are. */
static void test_refuses_foreign_folder(void **s) {
    (void)s;
    char *root = test_tmpdir();
    char final[512];
    snprintf(final, sizeof final, "%s/mine", root);
    assert_int_equal(rg_mkdir_p(final), RG_OK);
    put(final, "notes.txt", "mine");
    char *tmp = rg_dir_begin(final);
    put(tmp, "report.json", "{}");
    assert_int_equal(rg_dir_commit(tmp, final), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "refusing to replace"));
    assert_int_equal(count_entries(root), 1);
    tmp = rg_dir_begin(final);
    put(tmp, "report.json", "{}");
    assert_int_equal(rg_dir_commit(tmp, final), RG_ERR);
    char other[600];
    snprintf(other, sizeof other, "%s/report", root);
    tmp = rg_dir_begin(other);
    put(tmp, "report.json", "{\"a\": 1}");
    assert_int_equal(rg_dir_commit(tmp, other), RG_OK);
    tmp = rg_dir_begin(other);
    put(tmp, "report.json", "{\"a\": 2}");
    assert_int_equal(rg_dir_commit(tmp, other), RG_OK);
    char *text = get(other, "report.json");
    assert_string_equal(text, "{\"a\": 2}");
    free(text);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    assert_int_equal(system(cmd), 0);
    free(root);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_killed_in_window),
        cmocka_unit_test(test_recover_old_only),
        cmocka_unit_test(test_save_cleans_orphans),
        cmocka_unit_test(test_refuses_foreign_folder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
