#define _POSIX_C_SOURCE 200809L
#include "base/progress.h"

#include <stdio.h>
#include <unistd.h>

#include "base/log.h"
#include "base/timer.h"

void rg_progress_start(rg_progress *p, const char *label, int64_t total) {
    p->label = label;
    p->total = total > 0 ? total : 0;
    p->done = 0;
    p->start_time = rg_now();
    p->last_draw = 0;
    p->last_decile = -1;
    p->is_tty = isatty(fileno(stderr));
    p->enabled = rg_log_get_level() >= RG_LOG_INFO;
}

static void format_eta(char *buf, size_t cap, double seconds) {
    if (seconds < 0 || seconds > 1e7) {
        snprintf(buf, cap, "--:--");
        return;
    }
    int s = (int)(seconds + 0.5);
    if (s >= 3600)
        snprintf(buf, cap, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, cap, "%02d:%02d", s / 60, s % 60);
}

static void draw(rg_progress *p, const char *extra, int final) {
    double elapsed = rg_now() - p->start_time;
    double frac = p->total ? (double)p->done / (double)p->total : 0.0;
    char eta[32];
    format_eta(eta, sizeof eta, final ? elapsed : (frac > 0 ? elapsed * (1 - frac) / frac : -1));
    if (p->is_tty) {
        char bar[31];
        int filled = (int)(frac * 30);
        for (int i = 0; i < 30; i++) bar[i] = i < filled ? '#' : '.';
        bar[30] = '\0';
        fprintf(stderr, "\r\033[K%s [%s] %lld/%lld %s %s%s", p->label, bar, (long long)p->done,
                (long long)p->total, final ? "in" : "eta", eta, extra ? "  " : "");
        if (extra) fputs(extra, stderr);
        if (final) fputc('\n', stderr);
    } else {
        fprintf(stderr, "%s %lld/%lld (%3.0f%%) %s %s%s%s\n", p->label, (long long)p->done,
                (long long)p->total, 100 * frac, final ? "in" : "eta", eta, extra ? "  " : "",
                extra ? extra : "");
    }
    fflush(stderr);
}

void rg_progress_update(rg_progress *p, int64_t done, const char *extra) {
    p->done = done;
    if (!p->enabled) return;
    double now = rg_now();
    if (p->is_tty) {
        if (now - p->last_draw < 0.1) return;
        p->last_draw = now;
        draw(p, extra, 0);
    } else {
        int decile = p->total ? (int)(10 * done / p->total) : 0;
        if (decile == p->last_decile || decile >= 10) return;
        p->last_decile = decile;
        draw(p, extra, 0);
    }
}

void rg_progress_finish(rg_progress *p, const char *extra) {
    if (!p->enabled) return;
    draw(p, extra, 1);
}
