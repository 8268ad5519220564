/* fake_openai.h — starts and stops tests/ref/fake_openai_server.py (a
 * scripted OpenAI-compatible endpoint on 127.0.0.1) for the judge tests. */
#ifndef RG_FAKE_OPENAI_H
#define RG_FAKE_OPENAI_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define FAKE_PYTHON "/usr/bin/python3"

typedef struct {
    pid_t pid;
    int port;
    char url[128];      /* "http://127.0.0.1:PORT/v1" */
    char log_path[512]; /* one JSON line per request received */
} fake_openai;

static inline const char *fake_openai_script_path(void) {
    static char path[1024];
    const char *ref = getenv("RGSD_NODE_DIR"); /* tests/ref, exported by make */
    snprintf(path, sizeof path, "%s/fake_openai_server.py", ref ? ref : "tests/ref");
    return path;
}

/* 1 when the server can run here (python and the script present). */
static inline int fake_openai_available(void) {
    return access(FAKE_PYTHON, X_OK) == 0 && access(fake_openai_script_path(), R_OK) == 0;
}

/* Writes `script_json` to dir/script.json and starts the server; 0 on success. */
static inline int fake_openai_start(fake_openai *server, const char *dir, const char *script_json) {
    char script_path[512];
    snprintf(script_path, sizeof script_path, "%s/script.json", dir);
    snprintf(server->log_path, sizeof server->log_path, "%s/requests.jsonl", dir);
    unlink(server->log_path);
    FILE *f = fopen(script_path, "w");
    if (!f) return -1;
    fputs(script_json, f);
    fclose(f);
    int out[2];
    if (pipe(out) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        execl(FAKE_PYTHON, FAKE_PYTHON, fake_openai_script_path(), "--script", script_path, "--log", server->log_path,
              "--lifetime", "60", (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    char line[32] = {0};
    ssize_t got = 0, n;
    while (got < (ssize_t)sizeof line - 1 && (n = read(out[0], line + got, 1)) == 1 && line[got] != '\n') got++;
    close(out[0]);
    server->pid = pid;
    server->port = atoi(line);
    snprintf(server->url, sizeof server->url, "http://127.0.0.1:%d/v1", server->port);
    if (server->port <= 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    return 0;
}

static inline void fake_openai_stop(fake_openai *server) {
    if (server->pid > 0) {
        kill(server->pid, SIGTERM);
        waitpid(server->pid, NULL, 0);
        server->pid = 0;
    }
}

/* The request log, whole (malloc'd; "" when no request came). */
static inline char *fake_openai_log(const fake_openai *server) {
    FILE *f = fopen(server->log_path, "r");
    if (!f) return strdup("");
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = calloc(1, (size_t)len + 1);
    if (fread(text, 1, (size_t)len, f) != (size_t)len) text[0] = '\0';
    fclose(f);
    return text;
}

/* Requests received so far. */
static inline int fake_openai_requests(const fake_openai *server) {
    char *log = fake_openai_log(server);
    int lines = 0;
    for (char *p = log; *p; p++) lines += *p == '\n';
    free(log);
    return lines;
}

#endif
