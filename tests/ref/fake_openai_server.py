#!/usr/bin/python3
"""A scripted OpenAI-compatible chat-completions server for the judge tests.

    fake_openai_server.py --script SCRIPT.json --log REQUESTS.jsonl [--lifetime SECONDS]

Listens on 127.0.0.1 on an ephemeral port and prints the port on stdout (one
line, flushed) once it accepts connections. Every POST is answered from the
script, a JSON object:

    {"sequence": [REPLY, ...],              # consumed one per request, in order of arrival
     "rules": [{"if_contains": "TEXT", ...REPLY}, ...],  # then the first rule whose TEXT is
                                            # in the last message's content
     "pairwise": {"prefer": "TEXT"},        # then a pairwise prompt (rgsd compare: it holds
                                            # <reply_1>...</reply_1> and <reply_2>...</reply_2>)
                                            # is answered {"better": N}: the reply that alone
                                            # contains TEXT, else 1 (a judge that always picks
                                            # the first position when it has no preference)
     "default": REPLY,                      # else this (else 500)
     "reject_fields": ["response_format", "max_tokens"]}  # a request carrying one of
                                            # these fields gets a 400 naming it, in OpenAI's
                                            # words, before any of the above is consumed

    REPLY = {"status": 200,                 # HTTP status (default 200)
             "content": "...",              # wrapped as choices[0].message.content
             "body": "...",                 # or the raw body, sent as it is (a lone
                                            # surrogate \udc80-\udcff goes out as that
                                            # raw byte: invalid UTF-8 on purpose)
             "usage": [prompt, completion], # token counts in the wrapper (default [11, 7])
             "finish_reason": "stop",       # in the wrapper ("length": cut at max_tokens)
             "delay": 0.0,                  # seconds to wait before answering
             "headers": {"Retry-After": "1"}}

Each request is appended to the log as one JSON line {"path", "headers",
"in_flight" (requests being answered at its arrival, itself included), "body"}
before it is answered, so a test can count requests and check what
was sent. The server exits by itself after --lifetime seconds (default 60) so
that a crashed test never leaves it behind. Python standard library only.
"""
import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


# What OpenAI answers to a field a model does not take (other servers name the
# field likewise, which is all the judge looks for).
REFUSALS = {
    "response_format": "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model.",
    "max_tokens": "Unsupported parameter: 'max_tokens' is not supported with this model. "
                  "Use 'max_completion_tokens' instead.",
}


def pairwise_answer(prompt, prefer):
    """The scripted preference of a pairwise prompt: deterministic in the two replies and their order."""
    def reply(n):
        start = prompt.index("<reply_%d>\n" % n) + len("<reply_%d>\n" % n)
        return prompt[start:prompt.index("\n</reply_%d>" % n, start)]
    has1, has2 = prefer in reply(1), prefer in reply(2)
    better = 2 if has2 and not has1 else 1
    return {"explanation": "reply %d %s" % (better, "has the marker" if has1 != has2 else "is first"),
            "better": better}


class Script:
    def __init__(self, path, log_path):
        with open(path, encoding="utf-8") as f:
            self.script = json.load(f)
        self.sequence = list(self.script.get("sequence", []))
        self.lock = threading.Lock()
        self.log_path = log_path
        self.in_flight = 0

    def reply_for(self, request):
        for field in self.script.get("reject_fields", []):
            if isinstance(request, dict) and field in request:
                return {"status": 400, "body": json.dumps({"error": {
                    "message": REFUSALS.get(field, "Unsupported parameter: '%s'" % field),
                    "type": "invalid_request_error", "param": field}})}
        with self.lock:
            if self.sequence:
                return self.sequence.pop(0)
        try:
            prompt = request["messages"][-1]["content"]
        except (KeyError, IndexError, TypeError):
            prompt = ""
        pairwise = self.script.get("pairwise")
        if pairwise is not None and "<reply_1>" in prompt:
            return {"content": json.dumps(pairwise_answer(prompt, pairwise.get("prefer", "")))}
        for rule in self.script.get("rules", []):
            if rule.get("if_contains", "") in prompt:
                return rule
        return self.script.get("default", {"status": 500, "body": "no scripted reply"})

    def log(self, entry):
        with self.lock, open(self.log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")


def make_handler(script):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # keep the test output quiet
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length).decode("utf-8", "replace")
            try:
                request = json.loads(raw)
            except ValueError:
                request = None
            with script.lock:
                script.in_flight += 1
                in_flight = script.in_flight
            script.log({"path": self.path, "headers": dict(self.headers), "in_flight": in_flight,
                        "body": request if request is not None else raw})
            try:
                self.answer(script.reply_for(request or {}), request)
            finally:
                with script.lock:
                    script.in_flight -= 1

        def answer(self, reply, request):
            if reply.get("delay"):
                time.sleep(float(reply["delay"]))
            if "body" in reply:
                body = reply["body"]
            else:
                prompt_tokens, completion_tokens = reply.get("usage", [11, 7])
                body = json.dumps({
                    "id": "chatcmpl-test", "object": "chat.completion", "model": (request or {}).get("model"),
                    "choices": [{"index": 0, "finish_reason": reply.get("finish_reason", "stop"),
                                 "message": {"role": "assistant", "content": reply.get("content", "")}}],
                    "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                              "total_tokens": prompt_tokens + completion_tokens}})
            if reply.get("echo_auth"):  # a server that echoes the key in its error, as some do
                body += " key=" + self.headers.get("Authorization", "")
            data = body.encode("utf-8", "surrogateescape")
            try:
                self.send_response(int(reply.get("status", 200)))
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in reply.get("headers", {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout): nothing to answer

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--script", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--lifetime", type=float, default=60.0)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(Script(args.script, args.log)))
    server.daemon_threads = True
    threading.Timer(args.lifetime, server.shutdown).start()
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
