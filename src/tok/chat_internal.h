/* chat_internal.h — what chat.c, chat_detect.c and chat_render.c share:
 * the template object (a family plus the few constants a family's variants
 * differ in) and the detector. Not for use outside src/tok/chat*.c. */
#ifndef RG_CHAT_INTERNAL_H
#define RG_CHAT_INTERNAL_H

#include "tok/chat.h"

struct rg_chat_template {
    rg_chat_family family;
    const char *name;     /* variant: "qwen2.5", "llama3.1", ... (static string) */
    char *default_system; /* ChatML: system turn written when messages[0] is not "system"; NULL = none */
    char *default_date;   /* Llama 3.1+: the template's fallback for date_string */
    char *bos_token;      /* Llama: written at the start */
};

/* Fills family, name, default_system, default_date of t from a Jinja
 * chat_template source; error (naming the families) when unrecognised. */
int rg_chat_detect(const char *jinja_source, struct rg_chat_template *t);

#endif
