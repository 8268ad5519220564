#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>

#include "base/text.h"

static rg_log_level current_level = RG_LOG_INFO;

void rg_log_set_level(rg_log_level level) { current_level = level; }
rg_log_level rg_log_get_level(void) { return current_level; }

/* One line per message, control characters escaped and the length capped
 * (see base/text.h): messages quote data, answers and file contents. */
static void emit(const char *tag, const char *fmt, va_list ap) {
    char raw[8192], line[4096];
    vsnprintf(raw, sizeof raw, fmt, ap);
    rg_text_escape(line, sizeof line, raw, sizeof raw);
    fprintf(stderr, "%s%s\n", tag, line);
}

void rg_info(const char *fmt, ...) {
    if (current_level < RG_LOG_INFO) return;
    va_list ap;
    va_start(ap, fmt);
    emit("", fmt, ap);
    va_end(ap);
}

void rg_debug(const char *fmt, ...) {
    if (current_level < RG_LOG_DEBUG) return;
    va_list ap;
    va_start(ap, fmt);
    emit("debug: ", fmt, ap);
    va_end(ap);
}

void rg_warn(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    emit("warning: ", fmt, ap);
    va_end(ap);
}
