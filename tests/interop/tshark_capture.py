#!/usr/bin/env python3
"""Cross-check a secured capture and hanrig's decode of it against tshark.

Usage:
    python3 tests/interop/tshark_capture.py CAPTURE.pcapng KEYFILE OURS.jsonl
                                            [--tshark PATH] [--keep-pdml PATH]

CAPTURE is a pcapng (802.15.4 with FCS) written by `hanrig capture synth` or
`hanrig sim` (capture.pcapng), KEYFILE the Wireshark `zigbee_pc_keys` UAT file
written with it, OURS the output of
`hanrig capture decode CAPTURE --keys KEYFILE --json` (one object per frame).
Prints "ok  frame N (<command>)" or "FAIL frame N: ..." per frame (N = our 0-based
index, as in `hanrig capture decode`; tshark's frame number is N+1), then
"N passed, M failed".  Exit status 1 on any failure, on an empty capture, or when
tshark and OURS have different numbers of frames.

The key file is the only configuration
  tshark runs with WIRESHARK_CONFIG_DIR set to a fresh directory holding nothing but
  `zigbee_pc_keys` (a copy of KEYFILE); no -o options at all, so every preference is
  at its default (in particular zbee_nwk.seclevel = 5, ENC-MIC-32, and
  zbee_aps.zbeeseversion = SE 1.4, under which every command tshark_zcl.py maps
  dissects as under SE 1.1b).  The run fails if the global configuration directory
  has a zigbee_pc_keys or preferences file, or if tshark reports anything on stderr
  (e.g. "Error loading table 'Pre-configured Keys'").

Decryption and MIC status (packet-zbee-security.c, dissect_zbee_secure, 4.0.17)
  tshark verifies the CCM* MIC while decrypting: zbee_sec_ccm_decrypt() returns
  memcmp(computed MIC, received MIC) == 0, and a key counts as working only then.
  Only on that path does it add the generated fields `zbee.sec.key` (the key that
  verified the MIC; for key id 2/3 the stored link key it hashed) and either
  `zbee.sec.decryption_key` (the UAT label, key from zigbee_pc_keys) or
  `zbee.sec.key.origin` (number of the frame whose APS Transport-Key it learnt the
  key from).  Otherwise it adds the expert info "Encrypted Payload"
  (zbee_sec.encrypted_payload) and hands the ciphertext to the data dissector.
  Per secured layer this script therefore requires zbee.sec.key, no expert info in
  wpan/zbee_nwk/zbee_aps, no "data" field and no _ws.malformed anywhere.

  tshark tries keys learnt from Transport-Key frames before the UAT keys, so after
  frame 0 it decrypts NWK frames with the key it sniffed there and never touches
  the network key in KEYFILE.  To still prove that KEYFILE alone decrypts every
  frame, the key that verified each MIC must be byte-equal to a KEYFILE key, and to
  the KEYFILE entry named by ours' `decrypted_with` label (OURS must have been
  decoded with KEYFILE).  A UAT label shown by tshark must equal ours, and a key
  origin must be a Transport-Key frame of this capture carrying that key.

What is compared, per frame (ours -> tshark field)
  frame   length -> frame.len and frame.cap_len; timestamp_us -> frame.time_epoch;
          fcs_ok -> wpan.fcs_ok (must be true on both sides)
  mac     frame_type, ack_request, pan_id_compression, frame_version (wpan.version),
          sequence (wpan.seq_no), dst_pan, dst (wpan.dst16/dst64), src_pan, src
  nwk     frame_type, protocol_version, discover_route (zbee_nwk.discovery), dst,
          src, radius, sequence (zbee_nwk.seqno), dst_ieee (zbee_nwk.dst64),
          src_ieee (zbee_nwk.src64), security flag
  aps     frame_type, delivery_mode, ack_request, dst_endpoint (zbee_aps.dst),
          group, cluster, profile, src_endpoint (zbee_aps.src), counter, security
  security (NWK and APS aux headers)  level_on_air (zbee.sec.field & 7), key_id,
          frame_counter (zbee.sec.counter), source (zbee.sec.src64, consistent with
          zbee.sec.ext_nonce), key_sequence (zbee.sec.key_seqno); MIC is 4 bytes;
          protection as described above
  aps_command transport_key (zbee_aps.cmd.id 0x05): key_type, key, key_sequence
          (zbee_aps.cmd.seqno), destination (.cmd.dst), source (.cmd.src); the
          command must span exactly the APS payload ours' header lengths imply; a
          transported network key must be in KEYFILE
  zcl     tshark_zcl.check_vector (every field, by position, same tables); the ZCL
          frame's offset and length in tshark's decrypted buffer must equal what
          ours' MAC/NWK/APS headers, aux headers and 4-byte MICs imply
  Bits ours does not report but whose layout it implies are required to be 0:
  wpan.security, wpan.ie_present, wpan.seqno_suppression, zbee_nwk.multicast,
  zbee_nwk.src_route, zbee_aps.ext_header; zbee_nwk.ext_dst/ext_src must match
  dst_ieee/src_ieee.  Keys of ours' JSON that this script does not know fail.
  Not compared (ours has no field): wpan.pending, zbee_nwk.end_device_initiator.

MAC command frames (ours: `mac` with frame_type 3 and `mac_payload`, the MAC payload
in hex, command id first; no nwk/aps/zcl)
  frame   as above: length, timestamp, FCS correct on both sides, no malformed
          packet, no expert info, no "data"
  mac     every field as above, plus the addressing modes (wpan.dst_addr_mode,
          wpan.src_addr_mode: none/short/extended as ours' dst/src); wpan.security,
          wpan.ie_present, wpan.seqno_suppression and wpan.fcf.reserved must be 0
  mac_payload  its length must be ours' length minus ours' MAC header and FCS;
          tshark's wpan.cmd must be the byte right after that header and equal the
          first byte; tshark must dissect nothing above wpan; every byte of the
          frame must lie in a named wpan field; every field tshark puts in the
          payload must hold exactly ours' bytes there (bit fields: the whole byte,
          PDML unmaskedvalue) and be a field this script maps, at its offset:
    0x01 Association Request: 1 capability byte; each bit tshark shows must equal
          ours' (wpan.cinfo.alt_coord 0x01, device_type 0x02, power_src 0x04,
          idle_rx 0x08, sec_capable 0x40, alloc_addr 0x80); reserved bits 0x30,
          for which tshark has no field, must be 0
    0x02 Association Response: short address, little-endian (wpan.asoc.addr),
          then status (wpan.assoc.status), which must be 0 (success), 1 (PAN at
          capacity) or 2 (access denied)
    any other command id fails as unmapped
  Across frames (tshark's fields): an APS Transport-Key whose destination
  (zbee_aps.cmd.dst) got an Association Response earlier in the capture must
  follow a successful one, and be addressed at MAC (wpan.dst16) and NWK
  (zbee_nwk.dst) to the short address the latest such response allocated.

Written against Wireshark 4.0.17 (Debian bookworm); stdlib only.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

import tshark_zcl as tz

MIC_LEN = 4        # security level 5 (ENC-MIC-32), the only level SE uses
FCS_LEN = 2
TRANSPORT_KEY = 0x05
NETWORK_KEY_TYPES = (0x01, 0x05)  # standard / high-security network key


class Mismatch(Exception):
    pass


show = tz.show


# ---------------------------------------------------------------------------
# Key file (Wireshark's zigbee_pc_keys UAT)
# ---------------------------------------------------------------------------
def parse_uat_key(text, reverse):
    """Mirror of packet-zbee-security.c zbee_security_parse_key: 16 hex pairs, each
    optionally preceded by one of ':', '-', ' ', or '"' + 16 printable chars."""
    out = bytearray()
    if text.startswith('"'):
        body = text[1:17]
        if len(body) < 16 or not all(0x20 <= ord(c) < 0x7F for c in body):
            return None
        out = bytearray(body.encode("ascii"))
    else:
        i = 0
        for _ in range(16):
            if i < len(text) and text[i] in ":- ":
                i += 1
            pair = text[i:i + 2]
            if len(pair) < 2 or any(c not in "0123456789abcdefABCDEF" for c in pair):
                return None
            out.append(int(pair, 16))
            i += 2
    return bytes(reversed(out)) if reverse else bytes(out)


def uat_fields(line):
    """Splits a UAT line of double-quoted, comma-separated fields (\\xNN escapes)."""
    fields, i = [], 0
    while True:
        if i >= len(line) or line[i] != '"':
            raise ValueError("expected a double-quoted field at column %d" % (i + 1))
        j, buf = i + 1, []
        while j < len(line) and line[j] != '"':
            if line[j] == "\\" and line[j + 1:j + 2] == "x":
                buf.append(chr(int(line[j + 2:j + 4], 16)))
                j += 4
            else:
                buf.append(line[j])
                j += 1
        if j >= len(line):
            raise ValueError("unterminated field")
        fields.append("".join(buf))
        i = j + 1
        if i >= len(line):
            return fields
        if line[i] != ",":
            raise ValueError("expected ',' at column %d" % (i + 1))
        i += 1


def load_keyfile(path):
    """Returns ([(label, key bytes)], [errors])."""
    keys, errors = [], []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            try:
                f = uat_fields(line)
                if len(f) != 3 or f[1] not in ("Normal", "Reverse"):
                    raise ValueError("expected \"KEY\",\"Normal\"|\"Reverse\",\"label\"")
                key = parse_uat_key(f[0], f[1] == "Reverse")
                if key is None:
                    raise ValueError("key %r is not 16 hex bytes or a 16-character string" % f[0])
                keys.append((f[2], key))
            except ValueError as e:
                errors.append("line %d: %s" % (lineno, e))
    labels = [lab for lab, _ in keys]
    for lab in set(labels):
        if labels.count(lab) > 1:
            errors.append("label %r appears %d times" % (lab, labels.count(lab)))
    return keys, errors


# ---------------------------------------------------------------------------
# tshark's dissection, per layer
# ---------------------------------------------------------------------------
class Layer:
    """The named fields of one PDML <proto> (first occurrence of each name) and the
    expert infos inside it."""

    def __init__(self, proto):
        self.name = proto.get("name")
        self.pos = int(proto.get("pos") or 0)
        self.size = int(proto.get("size") or 0)
        self.fields = {}
        self.all = []
        self.experts = []
        for e in proto.iter("field"):
            n = e.get("name") or ""
            if n == "_ws.expert":
                msg = [c.get("show") for c in e.iter("field") if c.get("name") == "_ws.expert.message"]
                self.experts.append(msg[0] if msg else e.get("showname"))
            if n and not n.startswith("_ws."):
                f = tz.Field(e)
                self.all.append(f)
                self.fields.setdefault(n, f)

    def get(self, name):
        return self.fields.get(name)

    def int(self, name):
        f = self.fields.get(name)
        return None if f is None else tz.as_int(f.show)

    def bool(self, name):
        f = self.fields.get(name)
        return None if f is None else tz.as_bool(f)

    def eui(self, name):
        f = self.fields.get(name)
        return None if f is None else (f.show or "").lower()

    def bytes(self, name):
        f = self.fields.get(name)
        return None if f is None else bytes.fromhex((f.show or "").replace(":", ""))


class Frame:
    def __init__(self, pkt):
        self.pkt = pkt
        self.layers = {}
        self.protos = []
        self.malformed = False
        self.data = []
        for proto in pkt.iter("proto"):
            name = proto.get("name")
            self.protos.append(name)
            if name == "_ws.malformed":
                self.malformed = True
            if name == "data":
                self.data.append("data proto at %s+%s" % (proto.get("pos"), proto.get("size")))
            if name not in self.layers:
                self.layers[name] = Layer(proto)
        for e in pkt.iter("field"):
            if e.get("name") == "data.data":
                self.data.append("%s bytes at offset %s" % (e.get("size"), e.get("pos")))
            elif e.get("name") == "data" and e.get("pos") is not None:
                self.data.append("data at offset %s" % e.get("pos"))

    def layer(self, name):
        return self.layers.get(name)


# ---------------------------------------------------------------------------
# Comparison helpers
# ---------------------------------------------------------------------------
def check_keys(obj, known, where):
    if not isinstance(obj, dict):
        raise Mismatch("%s: ours is not an object" % where)
    extra = sorted(set(obj) - set(known))
    if extra:
        raise Mismatch("%s: field(s) %s present in ours but not in this checker's mapping"
                       % (where, ", ".join(extra)))


class Checker:
    """Collects mismatches of one frame."""

    def __init__(self):
        self.errors = []

    def eq(self, what, ours, theirs):
        if ours != theirs:
            self.errors.append("%s ours=%s tshark=%s" % (what, show(ours), show(theirs)))

    def fail(self, msg):
        self.errors.append(msg)


def addr_len(a):
    return 0 if a is None else (8 if isinstance(a, str) else 2)


def aux_len(sec):
    return 0 if sec is None else 1 + 4 + (8 if sec.get("source") else 0) + \
        (1 if sec.get("key_sequence") is not None else 0)


def mac_header_len(mac):
    """Length of the MAC header ours' mac object implies (no security, no IEs)."""
    return 3 + (2 if mac.get("dst_pan") is not None else 0) + addr_len(mac.get("dst")) + \
        (2 if mac.get("src_pan") is not None else 0) + addr_len(mac.get("src"))


def addr_mode(a):
    return ADDR_MODES["none" if a is None else "extended" if isinstance(a, str) else "short"]


def layout(o):
    """Offsets implied by ours' headers.  Returns dict with mac_len, aps_base
    (position of the APS header in tshark's tvb: frame-relative, or 0 inside the
    NWK-decrypted buffer) and (payload_start, payload_len) of the APS payload in the
    tvb tshark dissects it from."""
    mac, nwk, aps = o["mac"], o["nwk"], o["aps"]
    end = o["length"] - FCS_LEN
    mac_len = mac_header_len(mac)
    nwk_hdr = 8 + (8 if nwk.get("dst_ieee") else 0) + (8 if nwk.get("src_ieee") else 0)
    nsec = nwk.get("security")
    start = mac_len + nwk_hdr + aux_len(nsec)
    if nsec is not None:
        end -= MIC_LEN
        start, end = 0, end - start
    aps_base = start
    aps_hdr = 2 + sum(n for k, n in (("dst_endpoint", 1), ("group", 2), ("cluster", 2),
                                       ("profile", 2), ("src_endpoint", 1))
                      if aps.get(k) is not None)
    asec = aps.get("security")
    start += aps_hdr + aux_len(asec)
    if asec is not None:
        end -= MIC_LEN
        start, end = 0, end - start
    return {"mac_len": mac_len, "aps_base": aps_base, "payload": (start, end - start)}


SEC_KEYS = {"level_on_air", "key_id", "frame_counter", "source", "key_sequence"}


def check_security(ck, where, sec, prot, layer, flag, ctx):
    """One secured layer: aux header fields and decryption provenance."""
    ck.eq(where + ".security (frame control flag)", sec is not None, flag)
    has_aux = layer is not None and layer.get("zbee.sec.field") is not None
    if sec is None:
        if has_aux:
            ck.fail("%s.security: ours null but tshark dissects a security header" % where)
        if prot != "none":
            ck.fail("%s.protection: ours %s for an unsecured layer" % (where, show(prot)))
        return
    check_keys(sec, SEC_KEYS, where + ".security")
    if not has_aux:
        ck.fail("%s.security: tshark has no security header" % where)
        return
    s = where + ".security."
    ck.eq(s + "level_on_air", sec.get("level_on_air"), layer.int("zbee.sec.field") & 0x07)
    ck.eq(s + "key_id", sec.get("key_id"), layer.int("zbee.sec.key_id"))
    ck.eq(s + "frame_counter", sec.get("frame_counter"), layer.int("zbee.sec.counter"))
    ck.eq(s + "source", sec.get("source"), layer.eui("zbee.sec.src64"))
    ck.eq(s + "source (extended nonce bit)", sec.get("source") is not None,
          layer.bool("zbee.sec.ext_nonce"))
    ck.eq(s + "key_sequence", sec.get("key_sequence"), layer.int("zbee.sec.key_seqno"))
    mic = layer.get("zbee.sec.mic")
    if mic is None or mic.size != MIC_LEN:
        ck.fail("%s: tshark's MIC is %s, expected %d bytes" % (where, mic and mic.size, MIC_LEN))

    # Decryption provenance.
    key = layer.bytes("zbee.sec.key")
    label = layer.get("zbee.sec.decryption_key")
    origin = layer.int("zbee.sec.key.origin")
    keyfile = ctx["keyfile"]
    if key is None:
        ck.fail("%s: tshark did not decrypt it (no key passed the MIC check%s)"
                % (where, "; " + "; ".join(layer.experts) if layer.experts else ""))
    if not (isinstance(prot, dict) and set(prot) == {"decrypted_with"}):
        ck.fail("%s.protection: ours %s" % (where, show(prot)))
        return
    if key is None:
        return
    ours_label = prot["decrypted_with"]
    by_label = dict(keyfile)
    if key not in by_label.values():
        src = ("KEYFILE entry %r" % label.show) if label is not None else \
            ("the Transport-Key in tshark frame %s" % origin)
        ck.fail("%s: the key that passed tshark's MIC check (%s, from %s) is not in KEYFILE: "
                "KEYFILE alone does not decrypt this frame" % (where, key.hex(), src))
    if ours_label not in by_label:
        ck.fail("%s.protection: ours decrypted with %r, which is not a KEYFILE label "
                "(OURS must be decoded with KEYFILE)" % (where, ours_label))
    elif by_label[ours_label] != key:
        ck.fail("%s.protection: ours decrypted with %r (%s) but tshark's MIC check passed with %s"
                % (where, ours_label, by_label[ours_label].hex(), key.hex()))
    if label is not None:
        ck.eq(where + ".protection.decrypted_with", ours_label, label.show)
        if by_label.get(label.show) != key:
            ck.fail("%s: tshark's key %r is %s, this checker reads it from KEYFILE as %s"
                    % (where, label.show, key.hex(), by_label.get(label.show, b"").hex()))
    elif origin is not None:
        tk = ctx["transported"].get(origin - 1)
        if tk != key:
            ck.fail("%s: tshark learnt its key from frame %d, which carries no Transport-Key "
                    "with key %s" % (where, origin - 1, key.hex()))
    else:
        ck.fail("%s: tshark decrypted without naming a key label or origin" % where)


MAC_KEYS = {"frame_type", "ack_request", "pan_id_compression", "frame_version", "sequence",
            "dst_pan", "dst", "src_pan", "src"}
NWK_KEYS = {"frame_type", "protocol_version", "discover_route", "dst", "src", "radius",
            "sequence", "dst_ieee", "src_ieee", "security", "protection"}
APS_KEYS = {"frame_type", "delivery_mode", "ack_request", "dst_endpoint", "group", "cluster",
            "profile", "src_endpoint", "counter", "security", "protection"}
TOP_KEYS = {"index", "timestamp_us", "length", "fcs_ok", "mac", "nwk", "aps", "aps_command",
            "zcl", "nwk_payload", "aps_payload"}
TK_KEYS = {"name", "key_type", "key", "key_sequence", "destination", "source"}

# MAC command frames
MAC_COMMAND = 3    # 802.15.4 frame type
CMD_TOP_KEYS = {"index", "timestamp_us", "length", "fcs_ok", "mac", "mac_payload"}
ASSOCIATION_REQUEST, ASSOCIATION_RESPONSE = 0x01, 0x02
CAPABILITY_BITS = (("wpan.cinfo.alt_coord", 0x01), ("wpan.cinfo.device_type", 0x02),
                   ("wpan.cinfo.power_src", 0x04), ("wpan.cinfo.idle_rx", 0x08),
                   ("wpan.cinfo.sec_capable", 0x40), ("wpan.cinfo.alloc_addr", 0x80))
CAPABILITY_RESERVED = 0x30   # bits 4-5: tshark has no field for them
ASSOCIATION_STATUS = {0x00: "success", 0x01: "PAN at capacity", 0x02: "access denied"}
# Per command id: label, payload length after the id, and the tshark fields that
# must be there as (name, offset after the command id, size).
MAC_COMMANDS = {
    ASSOCIATION_REQUEST: ("association request", 1,
                          [(name, 0, 1) for name, _ in CAPABILITY_BITS]),
    ASSOCIATION_RESPONSE: ("association response", 3,
                           [("wpan.asoc.addr", 0, 2), ("wpan.assoc.status", 2, 1)]),
}
ADDR_MODES = {"none": 0, "short": 2, "extended": 3}


def mac_addr(layer, ours, which):
    if isinstance(ours, str):
        return layer.eui("wpan.%s64" % which)
    return layer.int("wpan.%s16" % which)


def epoch_us(text):
    sec, _, frac = (text or "").partition(".")
    frac = frac.ljust(9, "0")
    if frac[6:].strip("0"):
        return "%s (not a whole microsecond)" % text
    return int(sec) * 1000000 + int(frac[:6])


def check_frame_and_mac(o, fr, ck):
    """What data and MAC command frames share: tshark's overall verdict (malformed,
    expert infos, undissected data), frame length and time, FCS, the MAC header.
    Returns tshark's wpan layer; raises Mismatch if there is none."""
    if fr.malformed:
        ck.fail("tshark: malformed packet")
    for name, layer in fr.layers.items():
        if layer.experts and not name.startswith("zbee_zcl"):
            ck.fail("tshark expert info in %s: %s" % (name, "; ".join(layer.experts)))
    if fr.data:
        ck.fail("tshark left bytes undissected/undecrypted: %s" % ", ".join(fr.data))

    # frame
    f = fr.layer("frame")
    ck.eq("length", o.get("length"), f.int("frame.len"))
    ck.eq("length (captured)", o.get("length"), f.int("frame.cap_len"))
    te = f.get("frame.time_epoch")
    ck.eq("timestamp_us", o.get("timestamp_us"), epoch_us(te.show) if te else None)

    # MAC
    w = fr.layer("wpan")
    if w is None:
        raise Mismatch("tshark did not dissect an 802.15.4 frame; " + "; ".join(ck.errors))
    ck.eq("fcs_ok", o.get("fcs_ok"), w.bool("wpan.fcs_ok"))
    if not w.bool("wpan.fcs_ok"):
        ck.fail("tshark: FCS not correct (%s)" % (w.get("wpan.fcs").showname if w.get("wpan.fcs") else "no FCS"))
    mac = o.get("mac")
    check_keys(mac, MAC_KEYS, "mac")
    ck.eq("mac.frame_type", mac.get("frame_type"), w.int("wpan.frame_type"))
    ck.eq("mac.ack_request", mac.get("ack_request"), w.bool("wpan.ack_request"))
    ck.eq("mac.pan_id_compression", mac.get("pan_id_compression"), w.bool("wpan.pan_id_compression"))
    ck.eq("mac.frame_version", mac.get("frame_version"), w.int("wpan.version"))
    ck.eq("mac.sequence", mac.get("sequence"), w.int("wpan.seq_no"))
    ck.eq("mac.dst_pan", mac.get("dst_pan"), w.int("wpan.dst_pan"))
    ck.eq("mac.dst", mac.get("dst"), mac_addr(w, mac.get("dst"), "dst"))
    ck.eq("mac.src_pan", mac.get("src_pan"), w.int("wpan.src_pan"))
    ck.eq("mac.src", mac.get("src"), mac_addr(w, mac.get("src"), "src"))
    for bit in ("wpan.security", "wpan.ie_present", "wpan.seqno_suppression"):
        if w.bool(bit):
            ck.fail("tshark: %s is set; ours has no field for it and its layout implies 0" % bit)
    return w


def check_frame(o, fr, ctx):
    """Returns (label, notes); raises Mismatch with all disagreements."""
    mac = o.get("mac")
    if "mac_payload" in o or (isinstance(mac, dict) and mac.get("frame_type") == MAC_COMMAND):
        return check_mac_command_frame(o, fr, ctx)
    ck = Checker()
    check_keys(o, TOP_KEYS, "frame")
    cmd = (o.get("zcl") or {}).get("command", {}).get("name") or \
        (o.get("aps_command") or {}).get("name") or "no payload"
    for key in ("nwk_payload", "aps_payload"):
        if key in o:
            ck.fail("ours has %s (payload not decrypted)" % key)
    w = check_frame_and_mac(o, fr, ck)

    # NWK
    n, nwk = fr.layer("zbee_nwk"), o.get("nwk")
    check_keys(nwk, NWK_KEYS, "nwk")
    if n is None:
        raise Mismatch("tshark did not dissect a NWK frame; " + "; ".join(ck.errors))
    ck.eq("nwk.frame_type", nwk.get("frame_type"), n.int("zbee_nwk.frame_type"))
    ck.eq("nwk.protocol_version", nwk.get("protocol_version"), n.int("zbee_nwk.proto_version"))
    ck.eq("nwk.discover_route", nwk.get("discover_route"), n.int("zbee_nwk.discovery"))
    ck.eq("nwk.dst", nwk.get("dst"), n.int("zbee_nwk.dst"))
    ck.eq("nwk.src", nwk.get("src"), n.int("zbee_nwk.src"))
    ck.eq("nwk.radius", nwk.get("radius"), n.int("zbee_nwk.radius"))
    ck.eq("nwk.sequence", nwk.get("sequence"), n.int("zbee_nwk.seqno"))
    ck.eq("nwk.dst_ieee", nwk.get("dst_ieee"), n.eui("zbee_nwk.dst64"))
    ck.eq("nwk.src_ieee", nwk.get("src_ieee"), n.eui("zbee_nwk.src64"))
    ck.eq("nwk.dst_ieee (frame control flag)", nwk.get("dst_ieee") is not None, n.bool("zbee_nwk.ext_dst"))
    ck.eq("nwk.src_ieee (frame control flag)", nwk.get("src_ieee") is not None, n.bool("zbee_nwk.ext_src"))
    for bit in ("zbee_nwk.multicast", "zbee_nwk.src_route"):
        if n.bool(bit):
            ck.fail("tshark: %s is set; ours has no field for it and its layout implies 0" % bit)
    check_security(ck, "nwk", nwk.get("security"), nwk.get("protection"), n,
                   n.bool("zbee_nwk.security"), ctx)

    # APS
    a, aps = fr.layer("zbee_aps"), o.get("aps")
    if aps is None:
        if a is not None:
            ck.fail("aps: ours has no APS frame, tshark has one")
        raise Mismatch("; ".join(ck.errors or ["aps: neither ours nor tshark has an APS frame"]))
    check_keys(aps, APS_KEYS, "aps")
    if a is None:
        ck.fail("aps: tshark has no APS frame")
        raise Mismatch("; ".join(ck.errors))
    lay = layout(o)
    if n.pos != lay["mac_len"]:
        ck.fail("tshark's NWK header starts at byte %d, ours' MAC header implies %d" % (n.pos, lay["mac_len"]))
    if a.pos != lay["aps_base"]:
        ck.fail("tshark's APS header starts at byte %d of its buffer, ours' headers imply %d"
                % (a.pos, lay["aps_base"]))
    ck.eq("aps.frame_type", aps.get("frame_type"), a.int("zbee_aps.type"))
    ck.eq("aps.delivery_mode", aps.get("delivery_mode"), a.int("zbee_aps.delivery"))
    ck.eq("aps.ack_request", aps.get("ack_request"), a.bool("zbee_aps.ack_req"))
    ck.eq("aps.dst_endpoint", aps.get("dst_endpoint"), a.int("zbee_aps.dst"))
    ck.eq("aps.group", aps.get("group"), a.int("zbee_aps.group"))
    ck.eq("aps.cluster", aps.get("cluster"), a.int("zbee_aps.cluster"))
    ck.eq("aps.profile", aps.get("profile"), a.int("zbee_aps.profile"))
    ck.eq("aps.src_endpoint", aps.get("src_endpoint"), a.int("zbee_aps.src"))
    ck.eq("aps.counter", aps.get("counter"), a.int("zbee_aps.counter"))
    if a.bool("zbee_aps.ext_header"):
        ck.fail("tshark: zbee_aps.ext_header is set; ours has no field for it and its layout implies 0")
    check_security(ck, "aps", aps.get("security"), aps.get("protection"), a,
                   a.bool("zbee_aps.security"), ctx)

    # APS command
    tk = o.get("aps_command")
    cmd_fields = [x for x in a.all if x.name.startswith("zbee_aps.cmd.")]
    if tk is None:
        if cmd_fields:
            ck.fail("aps_command: ours has none, tshark dissects %s" % cmd_fields[0].name)
    else:
        check_keys(tk, TK_KEYS, "aps_command")
        cid = a.get("zbee_aps.cmd.id")
        ck.eq("aps_command.name", tk.get("name"), "transport_key"
              if a.int("zbee_aps.cmd.id") == TRANSPORT_KEY else cid and cid.showname)
        if tk.get("name") != "transport_key":
            ck.fail("aps_command %r has no mapping in this script" % tk.get("name"))
        else:
            ck.eq("aps_command.key_type", tk.get("key_type"), a.int("zbee_aps.cmd.key_type"))
            k = a.bytes("zbee_aps.cmd.key")
            ck.eq("aps_command.key", tk.get("key"), k.hex() if k is not None else None)
            ck.eq("aps_command.key_sequence", tk.get("key_sequence"), a.int("zbee_aps.cmd.seqno"))
            ck.eq("aps_command.destination", tk.get("destination"), a.eui("zbee_aps.cmd.dst"))
            ck.eq("aps_command.source", tk.get("source"), a.eui("zbee_aps.cmd.src"))
            if tk.get("key_type") in NETWORK_KEY_TYPES and \
                    (k is None or k not in dict(ctx["keyfile"]).values()):
                ck.fail("aps_command.key: the transported network key %s is not in KEYFILE"
                        % (k.hex() if k else None))
            check_transport_key_address(ck, o.get("index"), w, n, a, ctx)
        start, length = lay["payload"]
        if cmd_fields:
            lo = min(x.pos for x in cmd_fields)
            hi = max(x.pos + x.size for x in cmd_fields)
            if (lo, hi) != (start, start + length):
                ck.fail("tshark's APS command spans bytes %d-%d of its buffer, ours' headers "
                        "imply %d-%d" % (lo, hi, start, start + length))

    # ZCL
    notes = []
    zcl = o.get("zcl")
    if zcl is None:
        if fr.layer("zbee_zcl") is not None:
            ck.fail("zcl: ours has none, tshark dissects a ZCL frame")
        for name, layer in fr.layers.items():
            if layer.experts and name.startswith("zbee_zcl"):
                ck.fail("tshark expert info in %s: %s" % (name, "; ".join(layer.experts)))
    elif ck.errors:
        pass  # headers already disagree; offsets would only add noise
    else:
        start, length = lay["payload"]
        vec = {"cluster": aps.get("cluster"), "decoded": zcl}
        try:
            notes = tz.check_vector(vec, tz.Packet(fr.pkt), start, length)
        except tz.Mismatch as e:
            ck.fail("zcl: %s" % e)
    if ck.errors:
        raise Mismatch("; ".join(ck.errors))
    return cmd, notes


def check_mac_command_frame(o, fr, ctx):
    """An 802.15.4 MAC command frame (ours: mac + mac_payload, nothing above MAC).
    Returns (label, notes); raises Mismatch with all disagreements."""
    ck = Checker()
    check_keys(o, CMD_TOP_KEYS, "frame (MAC command)")
    w = check_frame_and_mac(o, fr, ck)
    mac = o["mac"]
    if mac.get("frame_type") != MAC_COMMAND:
        ck.fail("ours has mac_payload but mac.frame_type %s, not %d (command)"
                % (show(mac.get("frame_type")), MAC_COMMAND))
    if "mac_payload" not in o:
        ck.fail("ours has mac.frame_type %d (command) but no mac_payload" % MAC_COMMAND)
    above = [p for p in fr.protos if p not in ("geninfo", "frame", "wpan")]
    if above:
        ck.fail("tshark dissects %s above the MAC command" % ", ".join(above))
    for which in ("dst", "src"):
        ck.eq("mac.%s (addressing mode)" % which, addr_mode(mac.get(which)),
              w.int("wpan.%s_addr_mode" % which))
    if w.bool("wpan.fcf.reserved"):
        ck.fail("tshark: wpan.fcf.reserved is set; ours has no field for it and its layout implies 0")

    try:
        payload = bytes.fromhex(o.get("mac_payload"))
    except (TypeError, ValueError):
        raise Mismatch("; ".join(ck.errors + ["mac_payload %s is not hex" % show(o.get("mac_payload"))]))
    length = o.get("length")
    mac_len = mac_header_len(mac)
    start, end = mac_len, length - FCS_LEN    # the MAC payload in the frame
    if end - start != len(payload):
        ck.fail("mac_payload is %d bytes, but ours' length %d minus its %d-byte MAC header "
                "and the FCS leaves %d" % (len(payload), length, mac_len, end - start))
    if not payload:
        raise Mismatch("; ".join(ck.errors + ["mac_payload is empty (no command id)"]))

    # The command id, right after the MAC header ours implies.
    cid = w.get("wpan.cmd")
    if cid is None:
        raise Mismatch("; ".join(ck.errors + ["tshark has no wpan.cmd"]))
    if (cid.pos, cid.size) != (start, 1):
        ck.fail("tshark's wpan.cmd is %d byte(s) at %d, ours' MAC header implies 1 at %d"
                % (cid.size, cid.pos, start))
    ck.eq("mac_payload command id", payload[0], w.int("wpan.cmd"))
    label = "MAC command 0x%02x" % payload[0]

    # Every byte of the frame is covered by a named wpan field, and each field tshark
    # dissects in the payload carries exactly ours' bytes (bit fields: the whole byte).
    fields = [x for x in w.all if x.size > 0]
    covered, differ = set(), {}
    for x in fields:
        covered.update(range(x.pos, x.pos + x.size))
        if x.pos + x.size > length:
            ck.fail("tshark's %s (%d bytes at %d) runs past the frame's %d bytes"
                    % (x.name, x.size, x.pos, length))
        elif x.pos >= start and x.pos + x.size <= end:
            ours = payload[x.pos - start:x.pos - start + x.size]
            try:
                theirs = x.raw.hex()
            except ValueError:
                theirs = show(x.show)
            if theirs != ours.hex():
                differ.setdefault((x.pos - start, x.size, ours.hex(), theirs), []).append(x.name)
        elif x.pos < end and x.pos + x.size > start:
            ck.fail("tshark's %s (%d bytes at %d) straddles the MAC payload ours implies "
                    "(bytes %d-%d)" % (x.name, x.size, x.pos, start, end - 1))
    for (off, size, ours, theirs), names in sorted(differ.items()):
        ck.fail("mac_payload byte%s %s ours=%s tshark=%s (%s)"
                % ("" if size == 1 else "s", off if size == 1 else "%d-%d" % (off, off + size - 1),
                   ours, theirs, ", ".join(names)))
    missing = sorted(set(range(length)) - covered)
    if missing:
        ck.fail("tshark dissects no named field at byte(s) %s of the frame"
                % ", ".join(map(str, missing)))

    spec = MAC_COMMANDS.get(payload[0])
    if spec is None:
        ck.fail("%s has no mapping in this script" % label)
        raise Mismatch("; ".join(ck.errors))
    label, body_len, expected = spec
    body = payload[1:]
    if len(body) != body_len:
        ck.fail("%s: ours' payload after the command id is %d byte(s), the command has %d"
                % (label, len(body), body_len))
        raise Mismatch("; ".join(ck.errors))
    names = {name for name, _, _ in expected}
    for name, off, size in expected:
        x = w.get(name)
        if x is None:
            ck.fail("%s: tshark has no %s" % (label, name))
        elif (x.pos, x.size) != (start + 1 + off, size):
            ck.fail("%s: tshark's %s is %d byte(s) at payload offset %d, expected %d at %d"
                    % (label, name, x.size, x.pos - start, size, 1 + off))
    unmapped = sorted({x.name for x in fields if start <= x.pos < end} - names - {"wpan.cmd"})
    if unmapped:
        ck.fail("%s: tshark dissects %s, which this script does not map"
                % (label, ", ".join(unmapped)))

    if payload[0] == ASSOCIATION_REQUEST:
        cap = body[0]
        for name, bit in CAPABILITY_BITS:
            ck.eq("mac_payload capability 0x%02x: %s (bit 0x%02x)" % (cap, name, bit),
                  bool(cap & bit), w.bool(name))
        if cap & CAPABILITY_RESERVED:
            ck.fail("mac_payload capability 0x%02x has reserved bit(s) 0x%02x set"
                    % (cap, cap & CAPABILITY_RESERVED))
    elif payload[0] == ASSOCIATION_RESPONSE:
        short, status = int.from_bytes(body[0:2], "little"), body[2]
        ck.eq("mac_payload short address", short, w.int("wpan.asoc.addr"))
        ck.eq("mac_payload association status", status, w.int("wpan.assoc.status"))
        if status not in ASSOCIATION_STATUS:
            ck.fail("mac_payload association status 0x%02x is none of %s" % (
                status, ", ".join("%d (%s)" % kv for kv in sorted(ASSOCIATION_STATUS.items()))))
        else:
            label += " (%s, 0x%04x)" % (ASSOCIATION_STATUS[status], short)
    if ck.errors:
        raise Mismatch("; ".join(ck.errors))
    return label, []


def associations(frames):
    """tshark's Association Responses: [(index, destination EUI-64, short, status)]."""
    out = []
    for i, fr in enumerate(frames):
        w = fr.layer("wpan")
        if w is not None and fr.layer("zbee_nwk") is None and \
                w.int("wpan.frame_type") == MAC_COMMAND and w.int("wpan.cmd") == ASSOCIATION_RESPONSE:
            out.append((i, w.eui("wpan.dst64"), w.int("wpan.asoc.addr"), w.int("wpan.assoc.status")))
    return out


def check_transport_key_address(ck, index, w, n, a, ctx):
    """A Transport-Key to a device that was associated in this capture goes to the
    short address the latest Association Response before it allocated."""
    dest = a.eui("zbee_aps.cmd.dst")
    prior = [x for x in ctx["associations"] if x[0] < index and x[1] == dest]
    if not prior:
        return
    i, _, short, status = prior[-1]
    if status != 0:
        ck.fail("aps_command: Transport-Key to %s, whose latest Association Response "
                "(frame %d) has status %s" % (dest, i, show(status)))
        return
    for what, theirs in (("MAC destination (wpan.dst16)", w.int("wpan.dst16")),
                         ("NWK destination (zbee_nwk.dst)", n.int("zbee_nwk.dst"))):
        if theirs != short:
            ck.fail("aps_command: Transport-Key to %s has %s %s, but the Association "
                    "Response in frame %d allocated 0x%04x"
                    % (dest, what, "0x%04x" % theirs if theirs is not None else "none", i, short))


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------
def global_config_problems(tshark, confdir):
    """The key file must be the only configuration: no global UAT or preferences."""
    env = dict(os.environ, WIRESHARK_CONFIG_DIR=confdir)
    out = subprocess.run([tshark, "-G", "folders"], capture_output=True, env=env, text=True).stdout
    problems, personal = [], None
    for line in out.splitlines():
        k, _, v = line.partition(":")
        if k.strip() == "Global configuration":
            for name in ("zigbee_pc_keys", "preferences"):
                if os.path.exists(os.path.join(v.strip(), name)):
                    problems.append("global configuration file %s exists"
                                    % os.path.join(v.strip(), name))
        if k.strip() == "Personal configuration":
            personal = v.strip()
    if personal != confdir:
        problems.append("tshark's personal configuration is %r, not %r" % (personal, confdir))
    return problems


def load_ours(path):
    ours = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                o = json.loads(line)
                if not isinstance(o, dict):
                    raise ValueError("not an object")
                ours.append(o)
            except ValueError as e:
                ours.append("line %d: unreadable: %s" % (lineno, e))
    return ours


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("capture")
    ap.add_argument("keyfile")
    ap.add_argument("ours")
    ap.add_argument("--tshark", default="tshark")
    ap.add_argument("--keep-pdml", help="also write tshark's PDML here")
    args = ap.parse_args(argv)
    tz.check_tables()

    failures, passed = [], 0

    def fail(name, why):
        failures.append(name)
        print("FAIL %s: %s" % (name, why))

    keyfile, key_errors = load_keyfile(args.keyfile)
    for e in key_errors:
        fail("keyfile", e)
    ours = load_ours(args.ours)

    packets = []
    with tempfile.TemporaryDirectory(prefix="tshark_capture.") as tmp:
        confdir = os.path.join(tmp, "wsconf")
        os.makedirs(confdir)
        shutil.copyfile(args.keyfile, os.path.join(confdir, "zigbee_pc_keys"))
        try:
            for p in global_config_problems(args.tshark, confdir):
                fail("tshark", p)
            packets, stderr = tz.tshark_pdml(args.tshark, args.capture, confdir, ())
            for line in stderr.splitlines():
                if line.strip() and not line.startswith("Running as user"):
                    fail("tshark", "stderr: %s" % line)
            if sorted(os.listdir(confdir)) != ["zigbee_pc_keys"]:
                fail("tshark", "config dir holds %s" % sorted(os.listdir(confdir)))
            if args.keep_pdml:
                with open(args.keep_pdml, "wb") as fh:
                    fh.write(b"<pdml>\n" + b"".join(ET.tostring(p) for p in packets) + b"</pdml>\n")
        except (RuntimeError, OSError, ET.ParseError) as e:
            fail("tshark", str(e))

    frames = [Frame(p) for p in packets]
    if not frames and not ours:
        print("error: %s is empty" % args.capture, file=sys.stderr)
    if len(frames) != len(ours):
        fail("frame count", "tshark dissected %d frames, %s has %d" % (len(frames), args.ours, len(ours)))

    # Keys tshark can learn from Transport-Key frames (zbee.sec.key.origin), by index.
    transported = {}
    for i, fr in enumerate(frames):
        a = fr.layer("zbee_aps")
        if a is not None and a.int("zbee_aps.cmd.id") == TRANSPORT_KEY and a.get("zbee_aps.cmd.key"):
            transported[i] = a.bytes("zbee_aps.cmd.key")
    ctx = {"keyfile": keyfile, "transported": transported, "associations": associations(frames)}

    used = set()
    for i, (o, fr) in enumerate(zip(ours, frames)):
        name = "frame %d" % i
        try:
            if isinstance(o, str):
                raise Mismatch(o)
            if o.get("index") != i:
                raise Mismatch("index ours=%s, expected %d (line order)" % (show(o.get("index")), i))
            cmd, notes = check_frame(o, fr, ctx)
        except Exception as e:  # Mismatch, or ours is not shaped as documented
            fail(name, str(e) if isinstance(e, Mismatch) else
                 "checker error on our JSON: %s: %s" % (type(e).__name__, e))
            continue
        passed += 1
        print("ok  %s (%s)" % (name, cmd))
        for n in notes:
            print("  note %s: %s" % (name, n), file=sys.stderr)
        for layer in ("nwk", "aps"):
            prot = (o.get(layer) or {}).get("protection")
            if isinstance(prot, dict):
                used.add(prot.get("decrypted_with"))
    for label, _ in keyfile:
        if label not in used and frames:
            print("  note keyfile: entry %r decrypted no frame" % label, file=sys.stderr)

    print("%d passed, %d failed" % (passed, len(failures)))
    return 1 if failures or not frames else 0


if __name__ == "__main__":
    sys.exit(main())
