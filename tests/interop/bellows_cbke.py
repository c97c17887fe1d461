"""Key Establishment's ECC through bellows' own EZSP commands, on two simulated co-processors
(a trust centre and a device): each gets CBKE data from `hanrig cbke cert-issue` with
setPreinstalledCbkeData, generates ephemeral keys, and calculates the SMACs with the other's
certificate and ephemeral key; both chips must agree on MACU and MACV, then store the key.

    bellows_cbke.py TC-PORT TC-CERT.json DEVICE-PORT DEVICE-CERT.json
    bellows_cbke.py --absent PORT     (a co-processor without the library must say so)
"""

import asyncio
import json
import sys

import bellows.types as t
from bellows.cli import util


def is_ok(status) -> bool:
    return t.sl_Status.from_ember_status(status) == t.sl_Status.OK


async def handler(ezsp, name: str, command, *args):
    """Sends `command` and returns the parameters of the callback `name` it is answered with."""
    loop = asyncio.get_running_loop()
    got = loop.create_future()

    def cb(frame_name, response):
        if frame_name == name and not got.done():
            got.set_result(response)

    id_ = ezsp.add_callback(cb)
    try:
        (status,) = await command(*args)
        assert is_ok(status), f"{command}: {status!r}"
        return await asyncio.wait_for(got, 10)
    finally:
        ezsp.remove_callback(id_)


async def load(ezsp, cert: dict) -> bytes:
    (library,) = await ezsp.getLibraryStatus(libraryId=0x06)
    assert library & 0x80, f"CBKE library absent: {library:#x}"
    status, _ = await ezsp.getCertificate()
    assert not is_ok(status), "a certificate before any was loaded"
    (status,) = await ezsp.setPreinstalledCbkeData(
        t.EmberPublicKeyData(bytes.fromhex(cert["ca_public"])),
        t.EmberCertificateData(bytes.fromhex(cert["certificate"])),
        t.EmberPrivateKeyData(bytes.fromhex(cert["private_key"])),
    )
    assert is_ok(status), f"setPreinstalledCbkeData: {status!r}"
    status, local = await ezsp.getCertificate()
    assert is_ok(status) and bytes(local).hex().upper() == cert["certificate"], local
    return bytes(local)


async def main(tc_port, tc_file, dev_port, dev_file):
    tc_cert, dev_cert = (json.load(open(f)) for f in (tc_file, dev_file))
    tc = await util.setup(tc_port, 115200)
    dev = await util.setup(dev_port, 115200)
    tc_local = await load(tc, tc_cert)
    dev_local = await load(dev, dev_cert)
    _, tc_q = await handler(tc, "generateCbkeKeysHandler", tc.generateCbkeKeys)
    _, dev_q = await handler(dev, "generateCbkeKeysHandler", dev.generateCbkeKeys)
    assert len(bytes(tc_q)) == 22 and bytes(tc_q)[0] in (2, 3), tc_q
    tc_status, tc_u, tc_v = await handler(
        tc, "calculateSmacsHandler", tc.calculateSmacs,
        t.Bool.false, t.EmberCertificateData(dev_local), dev_q,
    )
    dev_status, dev_u, dev_v = await handler(
        dev, "calculateSmacsHandler", dev.calculateSmacs,
        t.Bool.true, t.EmberCertificateData(tc_local), tc_q,
    )
    assert is_ok(tc_status) and is_ok(dev_status), (tc_status, dev_status)
    assert bytes(tc_u) == bytes(dev_u), "MACU differs"
    assert bytes(tc_v) == bytes(dev_v), "MACV differs"
    assert bytes(tc_u) != bytes(tc_v)
    for ezsp in (tc, dev):
        (status,) = await ezsp.clearTemporaryDataMaybeStoreLinkKey(t.Bool.true)
        assert is_ok(status), status
        await ezsp.disconnect()
    print(f"both chips agree: MACU {bytes(tc_u).hex()} MACV {bytes(tc_v).hex()}")


async def absent(port):
    ezsp = await util.setup(port, 115200)
    (cbke,) = await ezsp.getLibraryStatus(libraryId=0x06)
    (ecc,) = await ezsp.getLibraryStatus(libraryId=0x08)
    (status,) = await ezsp.generateCbkeKeys()
    await ezsp.disconnect()
    assert not cbke & 0x80 and not ecc & 0x80, (cbke, ecc)
    assert t.sl_Status.from_ember_status(status) == t.sl_Status.NOT_AVAILABLE, status
    print(f"no CBKE library: getLibraryStatus {cbke:#04x} {ecc:#04x}, generateCbkeKeys {status!r}")


if sys.argv[1] == "--absent":
    asyncio.run(absent(sys.argv[2]))
else:
    asyncio.run(main(*sys.argv[1:5]))
