/* json_extract.h — find the JSON object in a language model's answer.
 *
 * Graders are told to answer with a JSON object only, yet they wrap it in
 * code fences, put a sentence before or after it, or think aloud first. This
 * scans the text for balanced {...} spans (string literals and escapes
 * respected, so a brace inside a string does not count), parses each with
 * cJSON, and keeps the LAST span that parses and that `accept` approves: a
 * model that reasons first gives its final answer last. A span that parses is
 * taken whole (objects nested inside it are not tried separately).
 *
 * Linear in the length of the text whatever it holds (a hostile endpoint may
 * answer megabytes of braces): a budget bounds the rescans of failed spans,
 * and past it an object inside a string of a failed span, or nested deeper
 * than cJSON's limit inside one, may be missed. A text of 4 GiB or more is
 * not searched. Memory: 4 bytes per character plus the nesting depth.
 */
#ifndef RG_JSON_EXTRACT_H
#define RG_JSON_EXTRACT_H

#include <cjson/cJSON.h>

typedef int (*rg_json_accept_fn)(const cJSON *object, void *ctx);

/* The accepted object (caller cJSON_Delete()s it), or NULL when none is found.
 * accept may be NULL (any object). */
cJSON *rg_json_extract_object(const char *text, rg_json_accept_fn accept, void *ctx);

#endif
