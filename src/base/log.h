/* log.h — leveled messages on stderr. stdout is reserved for command output. */
#ifndef RG_LOG_H
#define RG_LOG_H

typedef enum { RG_LOG_QUIET = 0, RG_LOG_INFO = 1, RG_LOG_DEBUG = 2 } rg_log_level;

void rg_log_set_level(rg_log_level level);
rg_log_level rg_log_get_level(void);
void rg_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void rg_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void rg_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
