"""The bt-shapes tokenizer: RoBERTa's byte-level BPE over a vocabulary made
for the domain words. Every byte is a token (any text tokenizes); merges
make each domain word one token, with and without the leading space (Ġ)."""
import json

from scenes import WORDS

SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]


def byte_chars():
    """GPT-2's byte-to-unicode table, in byte order."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) \
        + list(range(0xAE, 0xFF + 1))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return [table[b] for b in range(256)]


def bpe(word, ranks):
    """Byte-pair encoding of one pre-tokenized word by merge rank."""
    parts = list(word)
    while len(parts) > 1:
        pairs = [(ranks.get((a, b), 1 << 30), i) for i, (a, b) in enumerate(zip(parts, parts[1:]))]
        rank, i = min(pairs)
        if rank == 1 << 30:
            break
        parts[i:i + 2] = [parts[i] + parts[i + 1]]
    return parts


def build():
    """(vocab: token -> id, merges: list of (left, right)). Each word gets
    merges appended until BPE makes it one token; a merge added later ranks
    after all earlier ones, so it never changes a word already whole."""
    merges, ranks = [], {}
    for w in ["\u0120" + w for w in WORDS] + WORDS:
        while True:
            parts = bpe(w, ranks)
            if len(parts) == 1:
                break
            ranks[(parts[0], parts[1])] = len(merges)
            merges.append((parts[0], parts[1]))
    tokens = SPECIALS + byte_chars()
    for a, b in merges:
        if a + b not in tokens:
            tokens.append(a + b)
    tokens.append("<mask>")
    return {t: i for i, t in enumerate(tokens)}, merges


def encode(text, vocab):
    """<s> ids </s> for a caption of domain words (training's fast path;
    the tests check it against libbridgetower's tokenizer)."""
    ids = [vocab["<s>"]]
    for i, w in enumerate(text.split(" ")):
        ids.append(vocab[("\u0120" if i else "") + w])
    return ids + [vocab["</s>"]]


def write(folder, max_length):
    vocab, merges = build()
    with open(f"{folder}/vocab.json", "w") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(f"{folder}/merges.txt", "w") as f:
        f.write("#version: 0.2\n")
        for a, b in merges:
            f.write(f"{a} {b}\n")
    special = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
               "sep_token": "</s>", "pad_token": "<pad>", "cls_token": "<s>",
               "mask_token": {"content": "<mask>", "lstrip": True, "rstrip": False,
                              "normalized": True, "single_word": False}}
    with open(f"{folder}/special_tokens_map.json", "w") as f:
        json.dump(special, f, indent=2)
    cfg = dict(special, add_prefix_space=False, errors="replace", model_max_length=max_length,
               tokenizer_class="RobertaTokenizer", processor_class="BridgeTowerProcessor")
    with open(f"{folder}/tokenizer_config.json", "w") as f:
        json.dump(cfg, f, indent=2)
    return vocab
