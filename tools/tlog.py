#!/usr/bin/env python3
"""Independent checks of exhibit's log proofs: RFC 9162 Merkle verification in plain Python.

Standard library only, written from RFC 9162 §2.1.3.2 and §2.1.4.2 rather than from exhibit's
code, so that a reader who trusts neither can check one against the other. It checks hashes,
not signatures: check checkpoint signatures with openssl (docs/VERIFYING.md).

  tlog.py inclusion PROOF.tlog-proof MANIFEST.json
      the manifest's leaf, SHA-256(0x00 || bytes), is at the proof's index in the tree whose
      root the proof's checkpoint gives
  tlog.py consistency OLD_CHECKPOINT CONSISTENCY_JSON
      the tree of today's checkpoint extends the tree of OLD, where CONSISTENCY_JSON is what
      `exhibit --json log consistency OLD_CHECKPOINT` printed (its "new_checkpoint" and "proof")
  tlog.py consistency OLD_CHECKPOINT NEW_CHECKPOINT PROOF_HASHES
      the same with the parts in files (PROOF_HASHES: base64 hashes, one per line)

Exit 0 when the proof holds, 1 when it does not, 2 on unreadable input.
"""
import base64
import hashlib
import json
import sys


def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def b64(text):
    value = base64.b64decode(text, validate=True)
    if len(value) != 32:
        raise ValueError("hash is not 32 bytes")
    return value


def checkpoint_body(note):
    """origin, size, root of a checkpoint note (signature lines are not checked here)."""
    body = note.split("\n\n", 1)[0]
    origin, size, root = body.split("\n")[:3]
    return origin, int(size), b64(root)


def parse_proof(text):
    lines = text.split("\n")
    if lines[0] != "c2sp.org/tlog-proof@v1":
        raise ValueError("not a c2sp.org/tlog-proof@v1")
    i = 1
    if lines[i].startswith("extra "):
        i += 1
    if not lines[i].startswith("index "):
        raise ValueError("no index line")
    index = int(lines[i][len("index "):])
    i += 1
    path = []
    while lines[i] != "":
        path.append(b64(lines[i]))
        i += 1
    checkpoint = "\n".join(lines[i + 1:])
    return index, path, checkpoint


def verify_inclusion(leaf, index, size, path, root):
    """RFC 9162 §2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first, second, first_hash, second_hash, path):
    """RFC 9162 §2.1.4.2 (first == second needs an empty path and equal roots; from 0, never)."""
    if first == 0 or first > second:
        return False
    if first == second:
        return not path and first_hash == second_hash
    if not path:
        return False
    if first & (first - 1) == 0:
        path = [first_hash] + list(path)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node(c, fr)
            sr = node(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0


def main(argv):
    try:
        if len(argv) == 4 and argv[1] == "inclusion":
            index, path, checkpoint = parse_proof(open(argv[2], encoding="utf-8").read())
            origin, size, root = checkpoint_body(checkpoint)
            leaf = hashlib.sha256(b"\x00" + open(argv[3], "rb").read()).digest()
            ok = verify_inclusion(leaf, index, size, path, root)
            print(f"{'OK' if ok else 'FAIL'}: leaf {index} of {size} in log {origin}")
            return 0 if ok else 1
        if argv[1:2] == ["consistency"] and len(argv) in (4, 5):
            _, size1, root1 = checkpoint_body(open(argv[2], encoding="utf-8").read())
            if len(argv) == 4:
                report = json.load(open(argv[3], encoding="utf-8"))
                new_note, hashes = report["new_checkpoint"], report["proof"]
            else:
                new_note = open(argv[3], encoding="utf-8").read()
                hashes = open(argv[4], encoding="utf-8").read().split()
            origin, size2, root2 = checkpoint_body(new_note)
            hashes = [b64(h) for h in hashes if h]
            ok = verify_consistency(size1, size2, root1, root2, hashes)
            print(f"{'OK' if ok else 'FAIL'}: size {size2} extends size {size1} in log {origin}")
            return 0 if ok else 1
    except (OSError, ValueError, IndexError, KeyError, TypeError) as e:
        print(f"tlog.py: error: {e}", file=sys.stderr)
        return 2
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
