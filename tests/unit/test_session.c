/* test_session.c — the training session (session/session.h) around a
 * method's step, on a tiny random model of tests/ref/train_ref.py and an SFT
 * step standing in for the method:
 *   - the loop runs every step, keeps each step's metrics line, checkpoints
 *     every --save-every steps and at the end (metrics.jsonl in it), and
 *     rg_session_close returns 0;
 *   - --stop-after 2 of 4 steps saves after 2; --resume then reads the state
 *     and the metrics back and runs the other 2, and the weights equal those
 *     of 4 steps straight, bit for bit;
 *   - a stop request inside a step abandons it: the last complete step is
 *     saved and close returns 128 + signal (130);
 *   - a step that fails for another reason fails the loop, and nothing is saved. */
#include "test_util.h"

#include <omp.h>
#include <signal.h>

#include "base/error.h"
#include "base/stop.h"
#include "io/file.h"
#include "session/session.h"
#include "train/trainer.h"

#define N_EX 4

typedef struct {
    rg_train_example ex[N_EX];
    int32_t ids[N_EX][12];
    int32_t pos[N_EX][12];
    int calls;
    int stop_at_call; /* > 0: the step of this call requests a stop and is abandoned */
    int fail_at_call; /* > 0: the step of this call fails */
} fake_method;

static const char *tiny_model(void) {
    static char dir[2048];
    snprintf(dir, sizeof dir, "%.1000s/train/qwen3_untied", test_ref_dir());
    return dir;
}

#define SKIP_UNLESS_REF()                                                               \
    do {                                                                                \
        char probe_[2100];                                                              \
        snprintf(probe_, sizeof probe_, "%s/config.json", tiny_model());                \
        SKIP_UNLESS_FILE(probe_, "training reference models (tests/ref/train_ref.py)"); \
    } while (0)

static void make_data(fake_method *m, int vocab) {
    uint32_t x = 777;
    for (int i = 0; i < N_EX; i++) {
        int T = 6 + i;
        for (int t = 0; t < T; t++) {
            x = x * 1664525u + 1013904223u;
            m->ids[i][t] = (int32_t)((x >> 8) % (uint32_t)vocab);
        }
        int n = 0;
        for (int t = 2; t < T - 1; t++) m->pos[i][n++] = t;
        m->ex[i] = (rg_train_example){.ids = m->ids[i], .T = T, .loss_positions = m->pos[i], .n_loss = n};
    }
}

static int fake_step(rg_session *s, void *method, char *line, size_t line_size, char *extra, size_t extra_size) {
    fake_method *m = method;
    m->calls++;
    if (m->calls == m->stop_at_call) {
        rg_stop_requested = SIGINT; /* as the handler would: the step is abandoned at a safe point */
        return rg_error("stopped");
    }
    if (m->calls == m->fail_at_call) return rg_error("the method failed");
    rg_step_stats st;
    if (rg_trainer_step(&s->trainer, m->ex, &st) != RG_OK) return RG_ERR;
    snprintf(line, line_size, "{\"step\": %ld, \"loss\": %.6f}\n", s->trainer.step, st.loss);
    snprintf(extra, extra_size, "loss %.4f", st.loss);
    return RG_OK;
}

/* A session over the tiny model: 4 steps of 2 examples, full fine-tuning. */
static void open_session(rg_session *s, fake_method *m, const char *out, long stop_after, long save_every,
                         int resume) {
    memset(s, 0, sizeof *s);
    s->opt = (rg_session_options){.name = "test", .model_dir = tiny_model(), .out_dir = out, .cursor_unit = "example",
                                  .save_dtype = RG_F32, .steps = 4, .epochs = 1, .save_every = save_every,
                                  .stop_after = stop_after, .resume = resume, .quiet = 1};
    s->cfg = (rg_trainer_config){
        .adam = {.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8},
        .schedule = {.kind = RG_SCHEDULE_CONSTANT, .lr = 1e-3f},
        .max_grad_norm = 1.0f, .batch_size = 2, .grad_accum = 1, .seed = 5, .head_chunk = 4,
    };
    assert_int_equal(rg_model_load(&s->lm.model, tiny_model(), RG_WEIGHTS_F32), RG_OK);
    make_data(m, s->lm.model.cfg.vocab_size);
    if (rg_session_start(s, 12, N_EX) != RG_OK) fail_msg("%s", rg_errmsg());
    assert_int_equal(s->total_steps, 4);
}

static int count_lines(const char *text) {
    int n = 0;
    for (const char *p = text; p && *p; p++) n += *p == '\n';
    return n;
}

static int saved_lines(const char *out) {
    char *path = rg_path_join(out, "metrics.jsonl"), *text = NULL;
    size_t len = 0;
    int n = rg_read_file(path, &text, &len) == RG_OK ? count_lines(text) : -1;
    free(path);
    free(text);
    return n;
}

static void remove_dir(char *tmp) {
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    assert_int_equal(system(cmd), 0);
    free(tmp);
}

static void test_loop_saves_and_resumes(void **state) {
    (void)state;
    SKIP_UNLESS_REF();
    char *tmp = test_tmpdir(), straight[128], split[128];
    snprintf(straight, sizeof straight, "%s/straight", tmp);
    snprintf(split, sizeof split, "%s/split", tmp);
    rg_session a, b;
    fake_method ma = {0}, mb = {0};
    /* 4 steps straight, a checkpoint after step 2 and at the end */
    open_session(&a, &ma, straight, 0, 2, 0);
    assert_int_equal(rg_session_loop(&a, fake_step, &ma), RG_OK);
    assert_int_equal(ma.calls, 4);
    assert_int_equal(a.trainer.step, 4);
    assert_int_equal(count_lines(a.metrics.text), 4);
    assert_int_equal(saved_lines(straight), 4);
    assert_int_equal(rg_session_close(&a), 0);
    /* 2 steps (--stop-after 2), then --resume for the other 2 */
    open_session(&b, &mb, split, 2, 0, 0);
    assert_int_equal(rg_session_loop(&b, fake_step, &mb), RG_OK);
    assert_int_equal(b.trainer.step, 2);
    assert_int_equal(saved_lines(split), 2);
    assert_int_equal(rg_session_close(&b), 0);
    rg_session_free(&b);
    mb.calls = 0;
    open_session(&b, &mb, split, 0, 0, 1);
    assert_int_equal(b.trainer.step, 2);
    assert_int_equal(count_lines(b.metrics.text), 2); /* the history read back */
    assert_int_equal(rg_session_loop(&b, fake_step, &mb), RG_OK);
    assert_int_equal(mb.calls, 2);
    assert_int_equal(saved_lines(split), 4);
    assert_int_equal(b.trainer.n_trainable, a.trainer.n_trainable);
    assert_memory_equal(b.trainer.trainable, a.trainer.trainable, sizeof(float) * a.trainer.n_trainable);
    assert_int_equal(rg_session_close(&b), 0);
    rg_session_free(&a);
    rg_session_free(&b);
    remove_dir(tmp);
}

static void test_stop_request_saves_last_step(void **state) {
    (void)state;
    SKIP_UNLESS_REF();
    char *tmp = test_tmpdir(), out[128];
    snprintf(out, sizeof out, "%s/out", tmp);
    rg_session s;
    fake_method m = {0};
    open_session(&s, &m, out, 0, 0, 0);
    m.stop_at_call = 2;
    assert_int_equal(rg_session_loop(&s, fake_step, &m), RG_OK); /* abandoned, not failed */
    assert_int_equal(s.trainer.step, 1);
    assert_int_equal(saved_lines(out), 1);
    assert_int_equal(rg_session_close(&s), 128 + SIGINT);
    rg_stop_requested = 0;
    rg_session_free(&s);
    remove_dir(tmp);
}

static void test_failed_step_fails_the_loop(void **state) {
    (void)state;
    SKIP_UNLESS_REF();
    char *tmp = test_tmpdir(), out[128];
    snprintf(out, sizeof out, "%s/out", tmp);
    rg_session s;
    fake_method m = {0};
    open_session(&s, &m, out, 0, 0, 0);
    m.fail_at_call = 2;
    assert_int_equal(rg_session_loop(&s, fake_step, &m), RG_ERR);
    assert_string_equal(rg_errmsg(), "the method failed");
    assert_int_equal(saved_lines(out), -1); /* nothing written */
    rg_session_free(&s);
    remove_dir(tmp);
}

int main(void) {
    omp_set_num_threads(1); /* tiny shapes */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loop_saves_and_resumes),
        cmocka_unit_test(test_stop_request_saves_last_step),
        cmocka_unit_test(test_failed_step_fails_the_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
