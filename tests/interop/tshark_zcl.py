#!/usr/bin/env python3
"""Cross-check hanrig's ZCL decoder against tshark's ZigBee dissector.

Usage:
    python3 tests/interop/tshark_zcl.py VECTORS.jsonl [--keep-pcap PATH] [--tshark PATH]

VECTORS.jsonl has one object per line:
    {"name": ..., "cluster": <int>, "hex": "<ZCL frame>", "decoded": <our decoder's JSON>}

Each ZCL frame is wrapped in 802.15.4 (with FCS) / ZigBee NWK / APS (profile 0x0109)
and written to one pcap (LINKTYPE_IEEE802_15_4_WITHFCS = 195).  tshark dissects the
whole file once (-T pdml); every field of our decoded JSON is compared with the field
tshark puts at the same place in the frame.  Prints "ok  <name>" or
"FAIL <name>: ..." per vector, then "N passed, M failed".  Exit status 1 if anything
failed, if a command name has no mapping, or if the input is empty.

How a frame is compared
  * Header: by field name (zbee_zcl.type/.dir/.ddr/.cmd.mc/.cmd.tsn, command id).
  * Payload: a cursor walks tshark's fields in wire order (PDML pos/size).  Each of
    our fields must be the tshark field that starts exactly at the cursor, with the
    expected name; the cursor then moves past it (sub-fields of bitmasks sharing the
    same bytes are skipped).  After the last field, tshark must not have dissected
    anything more and must have covered every byte of the frame.  A swapped,
    missing, extra or mis-sized field therefore shows up as a name/offset mismatch
    or as a value mismatch.
  * Vectors whose command name is "unknown" are compared on the header only.

Environment for tshark: TZ=UTC and an empty WIRESHARK_CONFIG_DIR, so personal
preferences cannot change the dissection.  802.15.4 frames longer than 127 bytes
are not rejected by tshark 4.0 and are not rejected here either.

Written against Wireshark 4.0.17 (Debian bookworm); stdlib only.
"""

import argparse
import calendar
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

ZIGBEE_EPOCH = 946684800  # 2000-01-01T00:00:00Z as a Unix time

# ---------------------------------------------------------------------------
# tshark preferences
# ---------------------------------------------------------------------------
# zbee_aps.zbeeseversion: tshark offers SE 1.1b, 1.2, 1.2a, 1.2b, 1.4 (default
# 1.4), not SE 1.0.  "SE 1.1b" is the oldest, hence closest to SE 1.0.  In 4.0.17
# the setting is read in exactly two places, neither of them used by the commands
# this script maps: Metering Get Snapshot (End Time only from 1.2) and the Events
# cluster (Log ID only from 1.2).  Every command mapped below decodes identically
# under all five choices.  tshark silently ignores a misspelt value, so a probe
# frame (Get Snapshot) is dissected first to prove the setting took effect.
TSHARK_PREFS = {
    "zbee_aps.zbeeseversion": "SE 1.1b",
    "wpan.fcs_format": "ITU-T CRC-16",  # the FCS we append is CRC-16/KERMIT (ITU-T)
    "wpan.802154_fcs_ok": "TRUE",       # dissect NWK only when the FCS is correct
}
# Metering 0x0702, c->s Get Snapshot: start(4) end(4) offset(1) cause(4).  Under SE
# 1.1b tshark has no End Time, so it reads Snapshot Offset from byte 4 of the
# payload (0x00) instead of byte 8 (0x02).
PROBE_CLUSTER = 0x0702
PROBE_ZCL = bytes.fromhex("01000600e1f51a00e2f51a0201000000")
PROBE_OFFSET_FIELD = "zbee_zcl_se.met.get_snapshot.snapshot_offset"
PROBE_EXPECTED_OFFSET = 0  # (2 would mean SE >= 1.2 is in effect)

PI_ERROR = 0x00800000  # expert severity; Warning is 0x00600000


# ---------------------------------------------------------------------------
# pcap writer: 802.15.4 MAC (FCS) / NWK / APS around each ZCL frame
# ---------------------------------------------------------------------------
PROFILE_SE = 0x0109
LINKTYPE_IEEE802_15_4_WITHFCS = 195


def crc16_kermit(data):
    """CRC-16/KERMIT (poly 0x1021 reflected, init 0, no xorout) = 802.15.4 FCS."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc


def wrap_zcl(zcl, cluster, seq):
    """Returns (802.15.4 frame incl. FCS, offset of the ZCL frame inside it)."""
    s = seq & 0xFF
    # MAC: data frame, PAN-ID compression, 16-bit dst and src addresses.
    mac = struct.pack("<HBHHH", 0x8841, s, 0x1A62, 0x0000, 0x1234)
    # NWK: data frame, protocol version 2, no security; dst, src, radius, seq.
    nwk = struct.pack("<HHHBB", 0x0008, 0x0000, 0x1234, 30, s)
    # APS: data frame, unicast; dst ep, cluster, profile, src ep, APS counter.
    aps = struct.pack("<BBHHBB", 0x00, 1, cluster, PROFILE_SE, 1, s)
    body = mac + nwk + aps + zcl
    return body + struct.pack("<H", crc16_kermit(body)), len(mac) + len(nwk) + len(aps)


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535,
                            LINKTYPE_IEEE802_15_4_WITHFCS))
        for i, frame in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000 + i, 0, len(frame), len(frame)))
            f.write(frame)


# ---------------------------------------------------------------------------
# Running tshark and reading its PDML
# ---------------------------------------------------------------------------
class Field:
    __slots__ = ("name", "show", "showname", "value", "unmasked", "pos", "size")

    def __init__(self, e):
        self.name = e.get("name") or ""
        self.show = e.get("show")
        self.showname = e.get("showname") or ""
        self.value = e.get("value") or ""
        self.unmasked = e.get("unmaskedvalue")
        self.pos = int(e.get("pos") or 0)
        self.size = int(e.get("size") or 0)

    @property
    def raw(self):
        """The bytes tshark attributes to this field (before any bitmask)."""
        return bytes.fromhex(self.unmasked if self.unmasked is not None else self.value)

    def __repr__(self):
        return "%s=%r@%d+%d" % (self.name, self.show, self.pos, self.size)


class Joined:
    """Several consecutive tshark fields compared as one byte string."""

    def __init__(self, fields):
        self.raw = b"".join(f.raw for f in fields)
        self.show = self.raw.hex()
        self.unmasked = None


class Packet:
    def __init__(self, pkt):
        self.zcl = []          # named fields inside the zbee_zcl protocol, document order
        self.zcl_pos = None
        self.zcl_size = None
        self.malformed = False
        self.experts = []      # (severity, message)
        self.aps_cluster = None
        for proto in pkt.iter("proto"):
            if proto.get("name") == "_ws.malformed":
                self.malformed = True
            if proto.get("name") == "zbee_zcl" and self.zcl_pos is None:
                self.zcl_pos, self.zcl_size = int(proto.get("pos")), int(proto.get("size"))
                self.zcl = [Field(e) for e in proto.iter("field")
                            if e.get("name") and not e.get("name").startswith("_ws.")]
        for e in pkt.iter("field"):
            if e.get("name") == "zbee_aps.cluster":
                self.aps_cluster = int(e.get("show"), 0)
            if e.get("name") == "_ws.expert":
                sev = msg = None
                for c in e.iter("field"):
                    if c.get("name") == "_ws.expert.severity":
                        sev = int(c.get("show"))
                    elif c.get("name") == "_ws.expert.message":
                        msg = c.get("show")
                self.experts.append((sev or 0, msg or e.get("showname")))

    def first(self, pattern):
        for f in self.zcl:
            if re.fullmatch(pattern, f.name):
                return f
        return None


def tshark_pdml(tshark, pcap, confdir, prefs):
    """Runs `tshark -n -r PCAP -T pdml` with TZ=UTC, WIRESHARK_CONFIG_DIR=confdir
    (created if missing) and `-o key:value` for each (key, value) in prefs.
    Returns (the <packet> elements, tshark's stderr as text)."""
    cmd = [tshark, "-n", "-r", pcap, "-T", "pdml"]
    for k, v in prefs:
        cmd += ["-o", "%s:%s" % (k, v)]
    env = dict(os.environ, TZ="UTC", WIRESHARK_CONFIG_DIR=confdir)
    os.makedirs(confdir, exist_ok=True)
    res = subprocess.run(cmd, capture_output=True, env=env)
    stderr = res.stderr.decode(errors="replace")
    if res.returncode != 0:
        raise RuntimeError("tshark exited %d: %s" % (res.returncode, stderr))
    return list(ET.fromstring(res.stdout).iter("packet")), stderr


def run_tshark(tshark, pcap, workdir):
    packets, _ = tshark_pdml(tshark, pcap, os.path.join(workdir, "wsconf"), TSHARK_PREFS.items())
    return [Packet(p) for p in packets]


# ---------------------------------------------------------------------------
# Value conversions: conv(ours, field) -> (equal?, tshark value as shown in reports)
# ---------------------------------------------------------------------------
MONTHS = {m: i for i, m in enumerate(calendar.month_abbr) if m}
TIME_RE = re.compile(r"([A-Z][a-z]{2})\s+(\d+), (\d{4}) (\d\d):(\d\d):(\d\d)(?:\.\d+)? UTC")


def tshark_time(text):
    """Unix seconds of a tshark absolute time ('May  2, 2014 04:52:16.000000000 UTC')."""
    m = TIME_RE.search(text or "")
    if not m:
        return None
    mon, day, year, hh, mm, ss = m.groups()
    return calendar.timegm((int(year), MONTHS[mon], int(day), int(hh), int(mm), int(ss)))


def as_int(text):
    try:
        return int(text, 0)
    except (TypeError, ValueError):
        return None


def UINT(ours, f):
    """Integers, enums, bitmaps: tshark's numeric value (decimal or 0x-hex)."""
    t = as_int(f.show)
    return ours == t, t


INT = UINT  # signed fields: tshark shows them signed ("-150")


def BITS16(ours, f):
    """16-bit fields where tshark and the SE spec disagree on signedness: same bits."""
    t = as_int(f.show)
    return t is not None and isinstance(ours, int) and (ours & 0xFFFF) == (t & 0xFFFF), t


def as_bool(f):
    return f.show in ("1", "True", "true")


def BOOL(ours, f):
    t = as_bool(f)
    return bool(ours) == t, t


def date_of(ours):
    """Report form of our seconds-since-2000 value."""
    if not isinstance(ours, int):
        return show(ours)
    return "%d (%s UTC)" % (ours, time.strftime("%b %d, %Y %H:%M:%S",
                                                 time.gmtime(ours + ZIGBEE_EPOCH)))


def UTC(ours, f):
    """UTCTime: tshark shows a date; ours is seconds since 2000-01-01."""
    t = tshark_time(f.show)
    return t is not None and ours + ZIGBEE_EPOCH == t, f.show, date_of(ours)


def UTC_AS_UINT32(ours, f):
    """UTCTime that tshark types as a plain uint32 (seconds since 2000); its label
    carries the date, which must match too (except for 0, shown as 'Now')."""
    t = as_int(f.show)
    label = tshark_time(f.showname)
    ok = ours == t and (label is None or label == ours + ZIGBEE_EPOCH)
    return ok, "%s (%s)" % (t, f.showname.split(": ", 1)[-1]), date_of(ours)


def UTC_NO_EPOCH(ours, f):
    """tshark 4.0 bug: the field is added without ZBEE_ZCL_NSTIME_UTC_OFFSET, so it
    shows the seconds-since-2000 value as a Unix time (30 years early)."""
    t = tshark_time(f.show)
    return t is not None and ours == t, f.show, date_of(ours)


def RAW_LE(ours, f):
    """Compare with the little-endian integer in the bytes tshark attributes to the
    field.  For mapped command fields this is used only where tshark's decoded value
    is known to be wrong (RAW_ONLY); typed attribute values of byte-like types
    (dataN, time of day, date, BACnet OID) use it when ours is an integer."""
    t = int.from_bytes(f.raw, "little")
    return ours == t, "raw %s (tshark shows %s)" % (f.raw.hex(), f.show)


def BYTES(ours, f):
    """Fixed-size octets (signatures, keys, MACs); ours is hex."""
    t = f.raw.hex()
    return isinstance(ours, str) and ours.lower() == t, t


def _prefixed(ours_bytes, f):
    raw = f.raw
    return len(raw) >= 1 and raw[0] == len(raw) - 1 and raw[1:] == ours_bytes, raw[1:]


def OCTSTR_AS_CHARSTR(ours, f):
    """Octet string (length byte + bytes) that tshark types as a character string
    (FT_UINT_STRING): bytes after the length must equal ours; the text tshark shows
    must equal those bytes when they are printable ASCII."""
    try:
        ob = bytes.fromhex(ours)
    except (TypeError, ValueError):
        return False, f.show
    ok, body = _prefixed(ob, f)
    if ok and all(0x20 <= b < 0x7F for b in body):
        ok = f.show == body.decode("ascii")
    return ok, "%s (%r)" % (body.hex(), f.show)


def text_bytes(ours):
    """Our char string: a JSON string, or {"hex": ...} when it is not UTF-8."""
    if isinstance(ours, dict) and isinstance(ours.get("hex"), str):
        return bytes.fromhex(ours["hex"])
    return ours.encode("utf-8") if isinstance(ours, str) else None


def CHARSTR(ours, f):
    """Character string (length byte + text): bytes must match; the text tshark shows
    must match too when it is printable ASCII (tshark escapes anything else)."""
    ob = text_bytes(ours)
    ok, body = _prefixed(ob, f) if ob is not None else (False, f.raw)
    if ok and all(0x20 <= b < 0x7F for b in body):
        ok = f.show == body.decode("ascii")
    return ok, f.show


def OCTSTR(ours, f):
    """ZCL octet string attribute (zbee_zcl.attr.ostr: length byte + bytes)."""
    try:
        ob = bytes.fromhex(ours)
    except (TypeError, ValueError):
        return False, f.raw.hex()
    ok, body = _prefixed(ob, f)
    return ok, body.hex()


def BOOLBIT(mask):
    """FT_BOOLEAN over a byte with one defined bit: the bit tshark decodes and the
    byte it attributes to the field must both match."""
    def conv(ours, f):
        t_bit = as_bool(f)
        ok = isinstance(ours, int) and bool(ours & mask) == t_bit and f.raw == bytes([ours])
        return ok, "bit=%d raw=%s" % (t_bit, f.raw.hex())
    conv.__name__ = "BOOLBIT(0x%02x)" % mask
    return conv


# ---------------------------------------------------------------------------
# Typed ZCL attribute values ({type, value}) as dissected by dissect_zcl_attr_data
# ---------------------------------------------------------------------------
def is_analog(ztype):
    """packet-zbee-zcl.h IS_ANALOG_SUBTYPE: integers, floats, time/date/UTC."""
    return (ztype & 0xF0) == 0x20 or (ztype & 0xF8) == 0x38 or (ztype & 0xF8) == 0xE0


def NO_DATA(ours, f):
    return ours in (None, 0), "(no value)"


def BOOL_BYTE(ours, f):
    t = f.raw[0] if f.raw else None
    return int(ours) == t and BOOL(ours, f)[0], f.show


def BYTES_OR_LE(ours, f):
    if isinstance(ours, str):
        return BYTES(ours, f)
    return RAW_LE(ours, f)


def FLOAT(ours, f):
    """Single/double float.  Ours may be the raw IEEE bits as an unsigned integer
    (then the bytes must match exactly) or a number (compared to tshark's value)."""
    try:
        t = float(f.show)
    except (TypeError, ValueError):
        return False, f.show
    if isinstance(ours, int):
        if int.from_bytes(f.raw, "little") != ours:
            return False, "%s (raw %s)" % (f.show, f.raw.hex())
        ours = struct.unpack("<f" if len(f.raw) == 4 else "<d", f.raw)[0]
    return abs(t - float(ours)) <= 1e-6 * max(1.0, abs(t)), t


def _long_prefixed(ours_bytes, f):
    raw = f.raw
    n = int.from_bytes(raw[:2], "little") if len(raw) >= 2 else -1
    return n == len(raw) - 2 and raw[2:] == ours_bytes, raw[2:]


def OCTSTR_LONG(ours, f):
    if not isinstance(ours, str):
        return False, f.raw.hex()
    ok, body = _long_prefixed(bytes.fromhex(ours), f)
    return ok, body.hex()


def CHARSTR_LONG(ours, f):
    ob = text_bytes(ours)
    ok, body = _long_prefixed(ob, f) if ob is not None else (False, f.raw)
    if ok and all(0x20 <= b < 0x7F for b in body):
        ok = f.show == body.decode("ascii")
    return ok, f.show


def typed_value_conv(ztype):
    """Conversion for the tshark field(s) holding a value of ZCL type `ztype`.
    Returns (conv, number_of_fields, size) or None if the checker lacks the type."""
    if ztype in (0x00, 0xFF):                       # no data / unknown: nothing on the wire
        return NO_DATA, 0, 0
    if ztype == 0x10:
        return BOOL_BYTE, 1, 1
    if 0x08 <= ztype <= 0x0F:                       # dataN: zbee_zcl.attr.bytes
        return BYTES_OR_LE, 1, ztype - 0x07
    if 0x18 <= ztype <= 0x1F or 0x20 <= ztype <= 0x27:  # bitmapN, uintN
        return UINT, 1, (ztype & 7) + 1
    if 0x28 <= ztype <= 0x2F:                       # intN
        return INT, 1, (ztype & 7) + 1
    if ztype in (0x30, 0x31):                       # enum8/16 (tshark: uint8/16)
        return UINT, 1, ztype - 0x2F
    if ztype == 0x38:                               # semi-float: raw bytes only
        return BYTES_OR_LE, 1, 2
    if ztype in (0x39, 0x3A):
        return FLOAT, 1, 4 if ztype == 0x39 else 8
    if ztype in (0x41, 0x43):
        return OCTSTR_LONG if ztype == 0x43 else OCTSTR, 1, None
    if ztype in (0x42, 0x44):
        return CHARSTR_LONG if ztype == 0x44 else CHARSTR, 1, None
    if ztype in (0xE0, 0xE1):                       # time of day / date: 4 x uint8
        return BYTES_OR_LE, 4, 1
    if ztype == 0xE2:
        return UTC, 1, 4
    if ztype in (0xE8, 0xE9):                       # cluster id / attribute id
        return UINT, 1, 2
    if ztype == 0xEA:
        return BYTES_OR_LE, 1, 4
    if ztype == 0xF0:
        return BYTES_OR_LE, 1, 8
    if ztype == 0xF1:
        return BYTES_OR_LE, 1, 16
    return None  # arrays, sets, bags, structures: not handled by this checker


# ---------------------------------------------------------------------------
# The mapping table
# ---------------------------------------------------------------------------
class F:
    """One of our fields -> the tshark field at that place in the frame.
    tshark: exact field name or regex; conv: a conversion above;
    opt: the field may be absent/null in ours (then tshark must not have it either);
    multi: consume consecutive fields matching `tshark` and compare their
    concatenated bytes (used for the KE certificate)."""

    def __init__(self, ours, tshark, conv, opt=False, multi=False):
        self.ours, self.tshark, self.conv, self.opt, self.multi = ours, tshark, conv, opt, multi


class L:
    """A list in ours: each element is a record (list of F/TV) or, when `item` is a
    single F with ours=None, a scalar compared with that F."""

    def __init__(self, ours, item, opt=False):
        self.ours, self.item, self.opt = ours, item, opt


class TV:
    """A typed value.  ours[key] is {"type", "value"} (type_from=None), or a bare
    value whose type is ours[type_from] (reportable change).  tshark dissects a type
    byte (zbee_zcl.attr.data.type) followed by the value field(s)."""

    def __init__(self, ours, type_from=None, opt=False):
        self.ours, self.type_from, self.opt = ours, type_from, opt


# Which field name tshark uses for an attribute id depends on the cluster and on
# client/server side (zbee_zcl.attr.id, zbee_zcl_se.met.attr_id,
# zbee_zcl_se.drlc.attr_client_id, zbee_zcl_general.time.attr_id, ...).
ATTR_ID = r"zbee_zcl\.attr\.id|zbee_zcl_[a-z]+\.[a-z0-9_]+\.attr_(?:client_)?id"
ANY = r".+"
STATUS, DIR = "zbee_zcl.attr.status", "zbee_zcl.attr.dir"

P, D, M, G, K = "zbee_zcl_se.price.", "zbee_zcl_se.drlc.", "zbee_zcl_se.met.", "zbee_zcl_se.msg.", "zbee_zcl_se.ke."
RE = D + "report_event."
S2C, C2S = 1, 0

def general(cmd_id):
    """A profile-wide command: any cluster, either direction."""
    return {(None, None, cmd_id)}


# command name -> (set of (cluster, direction, command id) it may appear with,
#                  our fields in wire order)
COMMANDS = {
    # -- general (profile-wide) commands ------------------------------------------
    "read_attributes": (general(0x00), [
        L("attributes", F(None, ATTR_ID, UINT))]),
    "read_attributes_response": (general(0x01), [
        L("records", [F("attribute", ATTR_ID, UINT), F("status", STATUS, UINT),
                      TV("value", opt=True)])]),
    "write_attributes": (general(0x02), [
        L("records", [F("attribute", ATTR_ID, UINT), TV("value")])]),
    "write_attributes_undivided": (general(0x03), [
        L("records", [F("attribute", ATTR_ID, UINT), TV("value")])]),
    "write_attributes_no_response": (general(0x05), [
        L("records", [F("attribute", ATTR_ID, UINT), TV("value")])]),
    "write_attributes_response": (general(0x04), [
        L("records", [F("status", STATUS, UINT), F("attribute", ATTR_ID, UINT, opt=True)])]),
    "configure_reporting": (general(0x06), [
        L("records", [F("direction", DIR, UINT), F("attribute", ATTR_ID, UINT),
                      F("type", "zbee_zcl.attr.data.type", UINT, opt=True),
                      F("min_interval", "zbee_zcl.attr.minint", UINT, opt=True),
                      F("max_interval", "zbee_zcl.attr.maxint", UINT, opt=True),
                      TV("reportable_change", type_from="type", opt=True),
                      F("timeout", "zbee_zcl.attr.timeout", UINT, opt=True)])]),
    "configure_reporting_response": (general(0x07), [
        L("records", [F("status", STATUS, UINT), F("direction", DIR, UINT, opt=True),
                      F("attribute", ATTR_ID, UINT, opt=True)])]),
    "report_attributes": (general(0x0A), [
        L("records", [F("attribute", ATTR_ID, UINT), TV("value")])]),
    "default_response": (general(0x0B), [
        F("command_id", "zbee_zcl.cmd.id.rsp", UINT), F("status", STATUS, UINT)]),

    # -- Price 0x0700 ---------------------------------------------------------------
    "get_current_price": ({(0x0700, C2S, 0x00)}, [
        F("command_options", P + "command_options", UINT)]),
    "get_scheduled_prices": ({(0x0700, C2S, 0x01)}, [
        F("start_time", P + "start_time", UTC),
        F("number_of_events", P + "number_of_events", UINT)]),
    "price_acknowledgement": ({(0x0700, C2S, 0x02)}, [
        F("provider_id", P + "provider_id", UINT),
        F("issuer_event_id", P + "issuer_event_id", UINT),
        F("price_ack_time", P + "price_ack_time", UTC),
        F("control", P + "control", UINT)]),
    "publish_price": ({(0x0700, S2C, 0x00)}, [
        F("provider_id", P + "provider_id", UINT),
        F("rate_label", P + "rate_label", OCTSTR_AS_CHARSTR),
        F("issuer_event_id", P + "issuer_event_id", UINT),
        F("current_time", P + "current_time", UTC),
        F("unit_of_measure", P + "unit_of_measure", UINT),
        F("currency", P + "currency", UINT),
        F("price_trailing_digit_and_price_tier", P + "trailing_digit_and_price_tier", UINT),
        F("number_of_price_tiers_and_register_tier", P + "number_of_price_tiers_and_register_tier", UINT),
        F("start_time", P + "start_time", UTC),
        F("duration_in_minutes", P + "duration_in_minutes", UINT),
        F("price", P + "price", UINT),
        F("price_ratio", P + "price.ratio", UINT, opt=True),
        F("generation_price", P + "generation_price", UINT, opt=True),
        F("generation_price_ratio", P + "generation_price.ratio", UINT, opt=True),
        F("alternate_cost_delivered", P + "alternate_cost_delivered", UINT, opt=True),
        F("alternate_cost_unit", P + "alternate_cost.unit", UINT, opt=True),
        # parent and nibble sub-field share this name; the parent (whole byte) comes first
        F("alternate_cost_trailing_digit", P + "alternate_cost.trailing_digit", UINT, opt=True),
        F("number_of_block_thresholds", P + "number_of_block_thresholds", UINT, opt=True),
        F("price_control", P + "control", UINT, opt=True),
        F("number_of_generation_tiers", P + "number_of_generation_tiers", UINT, opt=True),
        F("generation_tier", P + "generation_tier", UINT, opt=True),
        F("extended_number_of_price_tiers", P + "extended_number_of_price_tiers", UINT, opt=True),
        F("extended_price_tier", P + "extended_price_tier", UINT, opt=True),
        F("extended_register_tier", P + "extended_register_tier", UINT, opt=True)]),

    # -- DRLC 0x0701 ----------------------------------------------------------------
    "load_control_event": ({(0x0701, S2C, 0x00)}, [
        F("issuer_event_id", D + "issuer_id", UINT),
        F("device_class", D + "device_class", UINT),
        F("utility_enrollment_group", D + "utility_enrollment_group", UINT),
        F("start_time", D + "start_time", UTC_AS_UINT32),
        F("duration_in_minutes", D + "duration_in_minutes", UINT),
        F("criticality_level", D + "criticality_level", UINT),
        F("cooling_temperature_offset", D + "cooling_temperature_offset", UINT),
        F("heating_temperature_offset", D + "heating_temperature_offset", UINT),
        F("cooling_temperature_set_point", D + "cooling_temperature_set_point", INT),
        F("heating_temperature_set_point", D + "heating_temperature_set_point", INT),
        F("average_load_adjustment_percentage", D + "average_load_adjustment_percentage", INT),
        F("duty_cycle", D + "duty_cycle", UINT),
        F("event_control", D + "event_control", UINT)]),
    "cancel_load_control_event": ({(0x0701, S2C, 0x01)}, [
        F("issuer_event_id", D + "issuer_id", UINT),
        F("device_class", D + "device_class", UINT),
        F("utility_enrollment_group", D + "utility_enrollment_group", UINT),
        F("cancel_control", D + "cancel_control", UINT),
        F("effective_time", D + "effective_time", RAW_LE)]),          # see RAW_ONLY
    "cancel_all_load_control_events": ({(0x0701, S2C, 0x02)}, [
        F("cancel_control", D + "cancel_control", UINT)]),
    "report_event_status": ({(0x0701, C2S, 0x00)}, [
        F("issuer_event_id", RE + "issuer_id", UINT),
        F("event_status", RE + "event_status", UINT),
        F("event_status_time", RE + "event_status_time", UTC),
        F("criticality_level_applied", RE + "criticality_level_applied", UINT),
        # SE spec: uint16; tshark: FT_INT16.  Same 16 bits either way.
        F("cooling_temperature_set_point_applied", RE + "cooling_temperature_set_point_applied", BITS16),
        F("heating_temperature_set_point_applied", RE + "heating_temperature_set_point_applied", BITS16),
        F("average_load_adjustment_percentage_applied", RE + "average_load_adjustment_percentage_applied", INT),
        F("duty_cycle_applied", RE + "duty_cycle_applied", UINT),
        F("event_control", RE + "event_control", UINT),
        F("signature_type", RE + "signature_type", UINT),
        F("signature", RE + "signature", BYTES)]),
    "get_scheduled_events": ({(0x0701, C2S, 0x01)}, [
        F("start_time", D + "get_scheduled_events.start_time", UTC),
        F("number_of_events", D + "get_scheduled_events.numbers_of_events", UINT),
        F("issuer_event_id", D + "get_scheduled_events.issuer_event_id", RAW_LE, opt=True)]),  # RAW_ONLY

    # -- Simple Metering 0x0702 -----------------------------------------------------
    "get_profile": ({(0x0702, C2S, 0x00)}, [
        F("interval_channel", M + "get_profile.interval_channel", UINT),
        F("end_time", M + "get_profile.end_time", UTC),
        F("number_of_periods", M + "get_profile.number_of_periods", UINT)]),
    "request_mirror_response": ({(0x0702, C2S, 0x01)}, [
        F("endpoint_id", M + "request_mirror_rsp.endpoint_id", UINT)]),
    "mirror_removed": ({(0x0702, C2S, 0x02)}, [
        F("endpoint_id", M + "mirror_removed.removed_endpoint_id", UINT)]),
    "request_fast_poll_mode": ({(0x0702, C2S, 0x03)}, [
        F("fast_poll_update_period", M + "request_fast_poll_mode.fast_poll_update_period", UINT),
        F("duration", M + "request_fast_poll_mode.duration", UINT)]),
    "get_profile_response": ({(0x0702, S2C, 0x00)}, [
        F("end_time", M + "get_profile_response.end_time", UTC),
        F("status", M + "get_profile_response.status", UINT),
        F("profile_interval_period", M + "get_profile_response.profile_interval_period", UINT),
        F("number_of_periods_delivered", M + "get_profile_response.number_of_periods_delivered", UINT),
        L("intervals", F(None, M + "get_profile_response.intervals", UINT))]),
    "request_mirror": ({(0x0702, S2C, 0x01)}, []),
    "remove_mirror": ({(0x0702, S2C, 0x02)}, []),
    "request_fast_poll_mode_response": ({(0x0702, S2C, 0x03)}, [
        F("applied_update_period", M + "request_fast_poll_mode_response.applied_update_period", UINT),
        F("fast_poll_mode_end_time", M + "request_fast_poll_mode_response.fast_poll_mode_end_time",
          UTC_NO_EPOCH)]),                                             # tshark bug, see docstring

    # -- Messaging 0x0703 -----------------------------------------------------------
    "display_message": ({(0x0703, S2C, 0x00)}, [
        F("message_id", G + "message.id", UINT),
        F("message_control", G + "message.ctrl", UINT),
        F("start_time", G + "message.start_time", UTC_AS_UINT32),
        F("duration_in_minutes", G + "message.duration", UINT),
        F("message", G + "message", CHARSTR),
        F("extended_message_control", G + "message.ext.ctrl", UINT, opt=True)]),
    "cancel_message": ({(0x0703, S2C, 0x01)}, [
        F("message_id", G + "message.id", UINT),
        F("message_control", G + "message.ctrl", UINT)]),
    "get_last_message": ({(0x0703, C2S, 0x00)}, []),
    "message_confirmation": ({(0x0703, C2S, 0x01)}, [
        F("message_id", G + "message.id", UINT),
        F("confirmation_time", G + "message.confirm_time", UTC),
        F("confirmation_control", G + "message.confirm.ctrl", BOOLBIT(0x01), opt=True),
        # tshark files the Response under the Display Message text's field name, as a
        # character string ("Response: ..."); the SE spec makes it an octet string.
        F("response", G + "message", OCTSTR_AS_CHARSTR, opt=True)]),

    # -- Key Establishment 0x0800 ---------------------------------------------------
    "initiate_key_establishment_request": ({(0x0800, C2S, 0x00)}, [
        F("key_establishment_suite", K + "attr.suite", UINT),
        F("ephemeral_data_generate_time", K + "init.ephemeral.time", UINT),
        F("confirm_key_generate_time", K + "init.confirm.time", UINT),
        # suite 1: reconst(22) subject(8) issuer(8) profile(10), compared concatenated
        F("identity", re.escape(K) + r"cert\..+", BYTES, multi=True)]),
    "initiate_key_establishment_response": ({(0x0800, S2C, 0x00)}, [
        F("key_establishment_suite", K + "attr.suite", UINT),
        F("ephemeral_data_generate_time", K + "init.ephemeral.time", UINT),
        F("confirm_key_generate_time", K + "init.confirm.time", UINT),
        F("identity", re.escape(K) + r"cert\..+", BYTES, multi=True)]),
    "ephemeral_data_request": ({(0x0800, C2S, 0x01)}, [
        F("ephemeral_data", K + "qeu", BYTES)]),
    "ephemeral_data_response": ({(0x0800, S2C, 0x01)}, [
        F("ephemeral_data", K + "qev", BYTES)]),
    "confirm_key_data_request": ({(0x0800, C2S, 0x02)}, [
        F("secure_message_authentication_code", K + "macu", BYTES)]),
    "confirm_key_data_response": ({(0x0800, S2C, 0x02)}, [
        F("secure_message_authentication_code", K + "macv", BYTES)]),
    "terminate_key_establishment": ({(0x0800, C2S, 0x03), (0x0800, S2C, 0x03)}, [
        F("status_code", K + "terminate.status", UINT),
        F("wait_time", K + "terminate.wait.time", UINT),
        F("key_establishment_suite", K + "attr.suite", UINT)]),
}

# Fields of ours that tshark 4.0.17 does not dissect at all and that are therefore
# NOT compared: (command, field) -> reason.
#
# Empty.  Every field of every mapped command has a tshark counterpart at the right
# offset; the header's reserved bits and the fields in RAW_ONLY are compared with
# the raw bytes tshark attributes to a field.  Should a future tshark stop
# dissecting a field, the cursor check fails loudly (no silent skipping); an entry
# here would then need code to step the cursor over that field's bytes.
NOT_DISSECTED = {}

# Fields whose tshark *decoded* value is wrong or absent, compared instead with the
# raw bytes tshark attributes to that field (its position and size are still checked).
RAW_ONLY = {
    ("header", "reserved"):
        "tshark has no field for frame-control bits 5-7; compared with the frame "
        "control byte that zbee_zcl.type is dissected from (unmaskedvalue >> 5)",
    ("cancel_load_control_event", "effective_time"):
        "zbee_zcl_se.drlc.effective_time is registered as 'Reserved' with bitmask "
        "0xFE, so tshark's value is (raw & 0xFE) >> 1",
    ("get_scheduled_events", "issuer_event_id"):
        "zbee_zcl_se.drlc.get_scheduled_events.issuer_event_id is FT_UINT8 added over "
        "4 bytes: the field value is truncated to the low byte (the label shows all 4)",
}



def check_tables():
    """RAW_ONLY must name exactly the mapped fields compared with RAW_LE."""
    raw = set()
    for name, (_, specs) in COMMANDS.items():
        for spec in specs:
            if isinstance(spec, F) and spec.conv is RAW_LE:
                raw.add((name, spec.ours))
    documented = {k for k in RAW_ONLY if k[0] != "header"}
    assert raw == documented, "RAW_ONLY out of date: %s" % sorted(raw ^ documented)
    assert not NOT_DISSECTED


# Header: command id field by frame type / cluster dissector.
CMD_ID = (r"zbee_zcl\.cmd\.id|zbee_zcl\.cs\.cmd\.id|"
          r"zbee_zcl_[a-z]+\.[a-z0-9_]+\.cmd\.srv_[rt]x\.id")
IGNORED_SUFFIXES = ("_name", "_iso")
PATTERN_NAMES = {ATTR_ID: "an attribute id field", ANY: "a value field"}


# ---------------------------------------------------------------------------
# The compare loop
# ---------------------------------------------------------------------------
class Mismatch(Exception):
    pass


def show(v):
    return json.dumps(v) if not isinstance(v, str) else v


class Cursor:
    """Walks tshark's ZCL fields in wire order."""

    def __init__(self, fields, zcl_start, start, end):
        self.fields = sorted(fields, key=lambda f: f.pos)  # stable: parents before children
        self.start_of_zcl, self.pos, self.end = zcl_start, start, end

    def _next(self):
        for f in self.fields:
            if f.pos >= self.pos and f.size > 0:
                return f
        return None

    def peek_is(self, pattern):
        f = self._next()
        return f is not None and f.pos == self.pos and re.fullmatch(pattern, f.name)

    def take(self, pattern, what):
        f = self._next()
        if f is None or f.pos != self.pos or not re.fullmatch(pattern, f.name):
            got = ("nothing" if f is None else
                   "%s at offset %d" % (f.name, f.pos - self.start_of_zcl))
            raise Mismatch("field %s: tshark has %s, expected %s at offset %d"
                           % (what, got, PATTERN_NAMES.get(pattern, pattern),
                              self.pos - self.start_of_zcl))
        self.pos = f.pos + f.size
        return f

    def finish(self):
        f = self._next()
        if f is not None:
            raise Mismatch("tshark dissects more than ours: %s at offset %d (%r)"
                           % (f.name, f.pos - self.start_of_zcl, f.show))
        if self.pos != self.end:
            raise Mismatch("tshark left %d trailing byte(s) undissected at offset %d"
                           % (self.end - self.pos, self.pos - self.start_of_zcl))


def apply_conv(conv, ours, f, what):
    """conv returns (equal?, tshark value for the report[, our value for the report])."""
    try:
        ok, theirs, *mine = conv(ours, f)
    except Exception as e:  # a conversion choking on a value is a mismatch too
        ok, theirs, mine = False, "%s (%s: %s)" % (f.show, type(e).__name__, e), []
    if not ok:
        raise Mismatch("field %s ours=%s tshark=%s"
                       % (what, mine[0] if mine else show(ours), show(theirs)))


def compare_field(cur, spec, ours, what):
    f = cur.take(spec.tshark, what)
    if spec.multi:
        parts = [f]
        while cur.peek_is(spec.tshark):
            parts.append(cur.take(spec.tshark, what))
        f = Joined(parts)
    apply_conv(spec.conv, ours, f, what)


def compare_typed_value(cur, ztype, ours, what):
    """The value part of a typed attribute value (after its type byte)."""
    conv = typed_value_conv(ztype) if isinstance(ztype, int) else None
    if conv is None:
        raise Mismatch("field %s: this checker does not handle ZCL type %s" % (what, show(ztype)))
    fn, nfields, size = conv
    # dissect_zcl_attr_data uses zbee_zcl.attr.<type>, but some clusters substitute
    # their own field for particular attributes (e.g. Time Status, Power Source),
    # so any field name is accepted here; position and size are still checked.
    parts = [cur.take(ANY, what) for _ in range(nfields)]
    if size is not None and any(p.size != size for p in parts):
        raise Mismatch("field %s: tshark's %s is %d byte(s), type 0x%02x needs %d"
                       % (what, parts[0].name, parts[0].size, ztype, size))
    apply_conv(fn, ours, parts[0] if nfields == 1 else Joined(parts), what)  # Joined([]) for no data


def unmapped_keys(obj, known, where):
    for k in obj:
        if k not in known and k != "name" and not k.endswith(IGNORED_SUFFIXES):
            raise Mismatch("field %s%s: present in ours but not in the mapping table" % (where, k))


def compare_specs(cur, specs, obj, prefix):
    unmapped_keys(obj, {s.ours for s in specs}, prefix)
    for spec in specs:
        what = prefix + spec.ours
        ours = obj.get(spec.ours)
        if ours is None and isinstance(spec, TV) and spec.type_from is not None:
            ztype = obj.get(spec.type_from)
            if isinstance(ztype, int) and is_analog(ztype):
                raise Mismatch("field %s is null but type 0x%02x is analog: the wire "
                               "carries a reportable change" % (what, ztype))
        if ours is None:
            if not spec.opt:
                raise Mismatch("field %s missing from ours" % what)
            continue
        if isinstance(spec, L):
            if not isinstance(ours, list):
                raise Mismatch("field %s: ours is not a list" % what)
            for i, item in enumerate(ours):
                iw = "%s[%d]" % (what, i)
                if isinstance(spec.item, F):          # list of scalars
                    compare_field(cur, spec.item, item, iw)
                elif isinstance(item, dict):          # list of records
                    compare_specs(cur, spec.item, item, iw + ".")
                else:
                    raise Mismatch("field %s: ours is not an object" % iw)
        elif isinstance(spec, TV) and spec.type_from is None:   # {type, value}
            if not isinstance(ours, dict) or "type" not in ours:
                raise Mismatch("field %s: ours is not {type, value}" % what)
            unmapped_keys(ours, {"type", "value"}, what + ".")
            t = cur.take("zbee_zcl.attr.data.type", what + ".type")
            if as_int(t.show) != ours["type"]:
                raise Mismatch("field %s.type ours=%s tshark=%s" % (what, show(ours["type"]), t.show))
            compare_typed_value(cur, ours["type"], ours.get("value"), what + ".value")
        elif isinstance(spec, TV):                    # bare value, type in a sibling
            ztype = obj.get(spec.type_from)
            if isinstance(ztype, int) and not is_analog(ztype):
                raise Mismatch("field %s ours=%s but type 0x%02x is discrete: tshark (like the "
                               "ZCL spec) expects no reportable change" % (what, show(ours), ztype))
            compare_typed_value(cur, ztype, ours, what)
        else:
            compare_field(cur, spec, ours, what)


def compare_header(pkt, hdr, zcl_start):
    def need(pattern, what):
        f = pkt.first(pattern)
        if f is None:
            raise Mismatch("header.%s: tshark has no %s" % (what, pattern))
        return f

    def check(what, ours, theirs):
        if ours != theirs:
            raise Mismatch("field header.%s ours=%s tshark=%s" % (what, show(ours), show(theirs)))

    ftype = need(r"zbee_zcl\.type", "frame_type")
    check("frame_type", hdr.get("frame_type"), as_int(ftype.show))
    mc = pkt.first(r"zbee_zcl\.cmd\.mc")
    check("manufacturer_code", hdr.get("manufacturer_code"), as_int(mc.show) if mc else None)
    check("direction", hdr.get("direction"), as_int(need(r"zbee_zcl\.dir", "direction").show))
    check("disable_default_response", hdr.get("disable_default_response"),
          as_bool(need(r"zbee_zcl\.ddr", "disable_default_response")))
    check("reserved", hdr.get("reserved"), ftype.raw[0] >> 5)  # RAW_ONLY
    check("tsn", hdr.get("tsn"), as_int(need(r"zbee_zcl\.cmd\.tsn", "tsn").show))
    cid = need(CMD_ID, "command_id")
    check("command_id", hdr.get("command_id"), as_int(cid.show))
    expected_pos = zcl_start + (4 if mc else 2)
    if cid.pos != expected_pos:
        raise Mismatch("header: tshark puts the command id at offset %d, not %d"
                       % (cid.pos - zcl_start, expected_pos - zcl_start))
    return cid.pos + 1


def check_vector(vec, pkt, zcl_start, zcl_len):
    """Raises Mismatch on the first disagreement; returns a list of notes."""
    notes = []
    if pkt.malformed:
        raise Mismatch("tshark: malformed packet (%s)" % "; ".join(m for _, m in pkt.experts))
    for sev, msg in pkt.experts:
        if sev >= PI_ERROR:
            raise Mismatch("tshark expert error: %s" % msg)
        notes.append("tshark expert info: %s" % msg)
    if pkt.zcl_pos is None:
        raise Mismatch("tshark did not dissect a ZCL frame")
    if (pkt.zcl_pos, pkt.zcl_size) != (zcl_start, zcl_len):
        raise Mismatch("tshark's ZCL frame is %d bytes at %d, expected %d at %d"
                       % (pkt.zcl_size, pkt.zcl_pos, zcl_len, zcl_start))
    dec = vec["decoded"]
    if dec.get("cluster") != vec["cluster"] or pkt.aps_cluster != vec["cluster"]:
        raise Mismatch("field cluster ours=%s vector=%s tshark=%s"
                       % (show(dec.get("cluster")), show(vec["cluster"]), show(pkt.aps_cluster)))
    hdr, cmd = dec.get("header") or {}, dec.get("command") or {}
    payload_start = compare_header(pkt, hdr, zcl_start)
    name = cmd.get("name")
    if name == "unknown":
        return notes
    if name not in COMMANDS:
        raise Mismatch("command %r has no mapping in this script" % name)
    ids, specs = COMMANDS[name]
    if (None, None, hdr.get("command_id")) in ids:
        sane = hdr.get("frame_type") == 0
    else:
        sane = hdr.get("frame_type") == 1 and \
            (vec["cluster"], hdr.get("direction"), hdr.get("command_id")) in ids
    if not sane:
        raise Mismatch("ours names the command %r but the header is frame type %s, "
                       "direction %s, command 0x%02x" % (name, hdr.get("frame_type"),
                                                         hdr.get("direction"), hdr.get("command_id") or 0))
    cur = Cursor(pkt.zcl, zcl_start, payload_start, zcl_start + zcl_len)
    compare_specs(cur, specs, cmd, "")
    cur.finish()
    return notes


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------
def load_vectors(path):
    vectors, errors = [], []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                v = json.loads(line)
                zcl = bytes.fromhex(v["hex"])
                if not isinstance(v["cluster"], int) or not isinstance(v["decoded"], dict):
                    raise ValueError("cluster must be an int and decoded an object")
                vectors.append((v.get("name") or "line %d" % lineno, v, zcl))
            except (ValueError, KeyError, TypeError) as e:
                errors.append(("line %d" % lineno, "unreadable vector: %s" % e))
    return vectors, errors


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("vectors")
    ap.add_argument("--keep-pcap", help="also copy the generated pcap here")
    ap.add_argument("--tshark", default="tshark")
    args = ap.parse_args(argv)
    check_tables()

    vectors, failures = load_vectors(args.vectors)
    passed = 0
    for name, why in failures:
        print("FAIL %s: %s" % (name, why))
    if not vectors and not failures:
        print("error: %s contains no vectors" % args.vectors, file=sys.stderr)

    if vectors:
        with tempfile.TemporaryDirectory(prefix="tshark_zcl.") as tmp:
            frames, offsets = [], []
            probe, _ = wrap_zcl(PROBE_ZCL, PROBE_CLUSTER, 0)
            frames.append(probe)
            for i, (_, v, zcl) in enumerate(vectors, 1):
                frame, off = wrap_zcl(zcl, v["cluster"], i)
                frames.append(frame)
                offsets.append(off)
            pcap = os.path.join(tmp, "zcl.pcap")
            write_pcap(pcap, frames)
            if args.keep_pcap:
                with open(pcap, "rb") as src, open(args.keep_pcap, "wb") as dst:
                    dst.write(src.read())
            try:
                packets = run_tshark(args.tshark, pcap, tmp)
                probe_pkt = packets[0] if packets else None
                probe_f = probe_pkt and probe_pkt.first(re.escape(PROBE_OFFSET_FIELD))
                if probe_f is None or as_int(probe_f.show) != PROBE_EXPECTED_OFFSET:
                    raise RuntimeError("tshark did not apply zbee_aps.zbeeseversion=%r "
                                       "(probe Get Snapshot offset=%s)"
                                       % (TSHARK_PREFS["zbee_aps.zbeeseversion"],
                                          probe_f and probe_f.show))
                if len(packets) != len(frames):
                    raise RuntimeError("tshark returned %d packets for %d frames"
                                       % (len(packets), len(frames)))
            except (RuntimeError, OSError, ET.ParseError) as e:
                print("error: %s" % e, file=sys.stderr)
                packets, tshark_error = None, str(e)

        for i, (name, v, zcl) in enumerate(vectors):
            try:
                if packets is None:
                    raise Mismatch("tshark did not run: %s" % tshark_error)
                notes = check_vector(v, packets[i + 1], offsets[i], len(zcl))
            except Exception as e:  # Mismatch, or ours is not shaped as documented
                why = str(e) if isinstance(e, Mismatch) else \
                    "checker error on our JSON: %s: %s" % (type(e).__name__, e)
                failures.append((name, why))
                print("FAIL %s: %s" % (name, why))
                continue
            passed += 1
            print("ok  %s" % name)
            for n in notes:
                print("  note %s: %s" % (name, n), file=sys.stderr)

    print("%d passed, %d failed" % (passed, len(failures)))
    return 1 if failures or not vectors else 0


if __name__ == "__main__":
    sys.exit(main())
