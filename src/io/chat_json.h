/* chat_json.h — chat messages as data files write them, read the same way by
 * rubric data and SFT data.
 *
 * Two spellings of the OpenAI chat format are accepted beside the plain one:
 *   - the "developer" role, OpenAI's newer name for the system message, is
 *     read as "system" (chat templates know only system/user/assistant);
 *   - content given as an array of parts, [{"type": "text", "text": "..."}],
 *     is read as the texts joined in order with nothing between them, as
 *     chat templates that take parts render them. A part that is not text
 *     (an image) is an error: rgsd trains and judges text only.
 */
#ifndef RG_CHAT_JSON_H
#define RG_CHAT_JSON_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* What a JSON value is, for messages: "string", "number", "array", "object",
 * "boolean", "null", or "nothing" when absent. */
const char *rg_json_type_name(const cJSON *v);

/* "system", "user" or "assistant" for a role as data write it ("developer"
 * is "system"); NULL for any other. */
const char *rg_chat_json_role(const char *role);

/* The text of a message's content (a string, or an array of text parts) in
 * *out (malloc'd). On a problem returns RG_ERR with *out NULL and writes the
 * path below content ("" or "[2].text") in `where` and what is wrong in
 * `why`; no error is recorded, so the caller names the file and field. */
int rg_chat_json_content(const cJSON *content, char **out, char *where, size_t where_size, char *why,
                         size_t why_size);

#endif
