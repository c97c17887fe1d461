#!/usr/bin/env python3
"""Writes secured_frames.txt: ZigBee frames secured by an implementation other than ours.

CCM* at level 5 is plain AES-CCM with a 4-byte tag (sep1-wire-facts.md §4), so pyca/cryptography's
AESCCM secures them here; MMO/HMAC come from the spec vectors (the key-transport key of the
AN1089 install-code key is taken from the facts file, not computed). Frames are assembled by hand
from the ZigBee spec layouts. Run: python3 gen_secured_frames.py > secured_frames.txt
(needs `pip install cryptography`).
"""
import struct
from cryptography.hazmat.primitives.ciphers.aead import AESCCM

def kermit(data):  # CRC-16/KERMIT, the 802.15.4 FCS
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return struct.pack("<H", crc)

def eui(text):  # "00:12:4b:..." -> wire (little-endian) bytes
    return bytes.fromhex(text.replace(":", ""))[::-1]

def ccm(key, src_eui, counter, control_real, aad, plaintext):
    nonce = eui(src_eui) + struct.pack("<I", counter) + bytes([control_real])
    return AESCCM(key, tag_length=4).encrypt(nonce, plaintext, aad)

NWK_KEY = bytes.fromhex("01030507090B0D0F00020406080A0C0D")
KT_KEY = bytes.fromhex("3C6CCA8977EB189EFD1614C3E7F75989")  # HMAC-MMO(66B69009…, 00), facts §4
IHD, ESI = "00:12:4b:00:01:02:03:04", "00:0d:6f:00:0a:bc:de:f0"

# 1. IHD -> ESI: DRLC Get Scheduled Events, NWK-secured with the network key.
mac = struct.pack("<HBHHH", 0x8861, 0x2A, 0x1A62, 0x0000, 0x796F)
nwk = struct.pack("<HHHBB", 0x1248, 0x0000, 0x796F, 0x1E, 0x10) + eui(IHD)
aux_air = bytes([0x28]) + struct.pack("<I", 0x105) + eui(IHD) + bytes([0x00])
aux_real = bytes([0x2D]) + aux_air[1:]
aps = bytes([0x00, 0x01]) + struct.pack("<HH", 0x0701, 0x0109) + bytes([0x01, 0x33])
zcl = bytes.fromhex("010501" "00000000" "05")
sealed = ccm(NWK_KEY, IHD, 0x105, 0x2D, nwk + aux_real, aps + zcl)
body = mac + nwk + aux_air + sealed
print("# kind | key | frame hex (MAC header to FCS) | plaintext of the innermost secured layer")
print(f"nwk {NWK_KEY.hex()} {(body + kermit(body)).hex()} {(aps + zcl).hex()}")

# 2. ESI (trust centre) -> IHD: APS Transport Key of the network key, NWK unsecured, APS-secured
#    with the key-transport key (key id 2, extended nonce).
mac = struct.pack("<HBHHH", 0x8861, 0x2B, 0x1A62, 0x796F, 0x0000)
nwk = struct.pack("<HHHBB", 0x1048, 0x796F, 0x0000, 0x1E, 0x11) + eui(ESI)
aps_hdr = bytes([0x21, 0x40])
aux_air = bytes([0x30]) + struct.pack("<I", 1) + eui(ESI)
aux_real = bytes([0x35]) + aux_air[1:]
command = bytes([0x05, 0x01]) + NWK_KEY + bytes([0x00]) + eui(IHD) + eui(ESI)
sealed = ccm(KT_KEY, ESI, 1, 0x35, aps_hdr + aux_real, command)
body = mac + nwk + aps_hdr + aux_air + sealed
print(f"aps {KT_KEY.hex()} {(body + kermit(body)).hex()} {command.hex()}")
