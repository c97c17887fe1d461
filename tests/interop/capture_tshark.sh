#!/usr/bin/env bash
# Wireshark interop for secured captures: `hanrig capture synth` writes a pcapng (APS
# Transport-Key, then one NWK-secured, partly APS-secured frame per SE command) and its
# zigbee_pc_keys file; `hanrig capture decode --json` decodes it; tshark, configured with
# nothing but that key file, must decrypt every frame (MIC verified) and agree with our
# decode field by field (tests/interop/tshark_capture.py).
# Then the checker must catch breakage: a key file with a wrong network key fails every
# frame; one flipped ciphertext byte (FCS recomputed) fails exactly that frame; and with
# the Transport-Key frame corrupted, every other frame still passes, i.e. tshark decrypts
# them with the key file's network key itself, not with the key it sniffed in frame 0.
set -euo pipefail
cd "$(dirname "$0")/../.."
hanrig=${HANRIG:-target/debug/hanrig}
check=tests/interop/tshark_capture.py
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$hanrig" capture synth --out "$work/synth.pcapng" --keys "$work/keys" >/dev/null
"$hanrig" capture decode "$work/synth.pcapng" --keys "$work/keys" --json > "$work/ours.jsonl"
python3 "$check" "$work/synth.pcapng" "$work/keys" "$work/ours.jsonl"

python3 - "$hanrig" "$check" "$work" <<'PY'
import json, re, struct, subprocess, sys
hanrig, check, work = sys.argv[1:]
ours = [json.loads(l) for l in open(work + "/ours.jsonl")]

def crc16_kermit(data):
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc

def flip_last_ciphertext_byte(src, dst, index):
    """Flips the byte before the 4-byte MIC of frame `index` (the outermost secured
    layer's last ciphertext byte) and recomputes the FCS."""
    buf, pos, n = bytearray(open(src, "rb").read()), 0, 0
    while pos < len(buf):
        btype, blen = struct.unpack_from("<II", buf, pos)
        if btype == 6:  # Enhanced Packet Block
            caplen = struct.unpack_from("<I", buf, pos + 20)[0]
            d = pos + 28
            if n == index:
                buf[d + caplen - 2 - 4 - 1] ^= 0x5A
                struct.pack_into("<H", buf, d + caplen - 2, crc16_kermit(buf[d:d + caplen - 2]))
            n += 1
        pos += blen
    open(dst, "wb").write(buf)

def run_check(capture, keys, ours_path):
    r = subprocess.run(["python3", check, capture, keys, ours_path], capture_output=True, text=True)
    failed = {int(m) for m in re.findall(r"^FAIL frame (\d+):", r.stdout, re.M)}
    other = [l for l in r.stdout.splitlines() if l.startswith("FAIL") and not l.startswith("FAIL frame ")]
    passed = {int(m) for m in re.findall(r"^ok  frame (\d+) ", r.stdout, re.M)}
    return r.returncode, failed, passed, other, r.stdout

def decode(capture, keys, out):
    with open(out, "w") as fh:
        subprocess.run([hanrig, "capture", "decode", capture, "--keys", keys, "--json"], check=True, stdout=fh)

everything = set(range(len(ours)))
problems = []

def expect(what, rc, failed, passed, other, out, want_failed):
    ok = rc == 1 and failed == want_failed and passed == everything - want_failed and not other
    print("%s negative: %s" % ("ok  " if ok else "FAIL", what))
    if not ok:
        problems.append(what)
        sys.stdout.write("".join("    | " + l + "\n" for l in out.splitlines()[-15:]))

# 1. Key file whose network key is wrong (the one the Transport-Key carries, one bit flipped).
nwk_key = ours[0]["aps_command"]["key"]
bad = "%032x" % (int(nwk_key, 16) ^ 1)
text = open(work + "/keys").read()
wrong = re.sub(nwk_key, bad, text, flags=re.I)
assert wrong != text, "network key not found in the key file"
open(work + "/keys_wrong_nwk", "w").write(wrong)
expect("key file with a wrong network key fails every frame",
       *run_check(work + "/synth.pcapng", work + "/keys_wrong_nwk", work + "/ours.jsonl"), everything)

# 2. One flipped ciphertext byte in the first frame secured at NWK and APS level.
k = next(o["index"] for o in ours if o["nwk"]["security"] and o.get("aps") and o["aps"]["security"])
flip_last_ciphertext_byte(work + "/synth.pcapng", work + "/flip.pcapng", k)
decode(work + "/flip.pcapng", work + "/keys", work + "/flip.jsonl")
expect("flipped ciphertext byte in frame %d fails exactly that frame" % k,
       *run_check(work + "/flip.pcapng", work + "/keys", work + "/flip.jsonl"), {k})

# 3. Transport-Key frame corrupted: tshark learns no key from the capture, so every
#    NWK frame must decrypt with the key file's network key.
flip_last_ciphertext_byte(work + "/synth.pcapng", work + "/notk.pcapng", 0)
decode(work + "/notk.pcapng", work + "/keys", work + "/notk.jsonl")
expect("Transport-Key frame corrupted: only frame 0 fails, the key file alone decrypts the rest",
       *run_check(work + "/notk.pcapng", work + "/keys", work + "/notk.jsonl"), {0})
sys.exit(1 if problems else 0)
PY
