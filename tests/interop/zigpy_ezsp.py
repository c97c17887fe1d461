"""zigpy's application layer (bellows' ControllerApplication, what Home Assistant's ZHA runs)
against `hanrig sim radio --protocol ezsp --unformed`, checking values at each step:

1. start-up on a stick with no network: zigpy forms one, and what it loads back (PAN, extended
   PAN, channel, network key, node) is what it formed;
2. a second start-up on the same stick loads the same network from its tokens;
3. an energy scan reports every channel asked for;
4. a backup, then a restore of a different network (another PAN, extended PAN, channel and
   network key, frame counters ahead): the stick then runs the restored network, and a
   backup taken after it matches it;
5. joining by install code: the simulated device (EUI64 and install code given on the
   command line) joins, zigpy hears it join, and it is in the child table a backup reads;
6. the interview: zigpy reads the device's node descriptor, endpoints and simple descriptor
   over ZDO (an in-premise display: SE profile, device 0x0502, Basic served, Time, Price,
   Metering and Messaging as a client); a Read Attributes of Basic on the SE profile answers
   the values the device holds (zigpy's ZCL layer passes only HA and ZLL profiles, so the
   answer is read where zigpy hands SE-profile packets, with zigpy's own parsers);
7. SE traffic both ways with a load-control device: the application sends a Load Control
   Event (APS-encrypted, as SE requires) and the device reports its Report Event Status —
   received, then started — with the event's issuer ID and criticality.

Prints one `ok` or `FAIL` line per check and exits non-zero on any failure.
    python zigpy_ezsp.py socket://127.0.0.1:PORT IHD-EUI64 LCD-EUI64 INSTALL-CODE
(both devices use the same install code).
"""

import asyncio
import logging
import sys

import zigpy.backups
import zigpy.types as zt
import zigpy.util
import zigpy.zcl.foundation as foundation
from bellows.zigbee.application import ControllerApplication

failures = 0


def check(ok, what, detail=""):
    global failures
    print(f"{'ok  ' if ok else 'FAIL'} {what}" + (f": {detail}" if detail and not ok else ""))
    if not ok:
        failures += 1


def config(path):
    return {
        "device": {"path": path},
        "database_path": None,
        "backup_enabled": False,
        "topology_scan_enabled": False,
        "ota": {"enabled": False},
    }


async def start(path, auto_form=False):
    return await ControllerApplication.new(config(path), auto_form=auto_form, start_radio=True)


async def main(path, device_eui, lcd_eui, install_code):
    # 1. No network on the stick: zigpy forms one.
    app = await start(path, auto_form=True)
    formed = app.state.network_info
    node = app.state.node_info
    check(node.nwk == 0x0000 and str(node.logical_type) == "LogicalType.Coordinator",
          "the stick is the coordinator at 0x0000", node)
    check(node.model == "hanrig-sim-ncp" and node.manufacturer == "hanrig",
          "board name and manufacturer from the manufacturing tokens", node)
    check(11 <= formed.channel <= 26 and formed.pan_id not in (0x0000, 0xFFFF),
          "zigpy formed a network on a channel and PAN", formed)
    check(formed.network_key.key != zt.KeyData([0] * 16), "the network key is set", formed)
    await app.shutdown()

    # 2. The same stick again: the network is in its tokens.
    app = await start(path)
    again = app.state.network_info
    same = (again.pan_id, again.extended_pan_id, again.channel, again.network_key.key) == (
        formed.pan_id, formed.extended_pan_id, formed.channel, formed.network_key.key)
    check(same, "a second start-up loads the network formed", f"{formed} vs {again}")

    # 3. Energy scan.
    energy = await app.energy_scan(channels=zt.Channels.ALL_CHANNELS, duration_exp=2, count=1)
    check(sorted(energy) == list(range(11, 27)), "an energy scan reports channels 11-26", energy)

    # 4. Backup, then restore another network.
    backup = await app.backups.create_backup(load_devices=True)
    check(backup.network_info.network_key.key == formed.network_key.key
          and backup.node_info.ieee == node.ieee, "the backup holds the network and node", backup)
    other = backup.network_info.replace(
        pan_id=zt.PanId(0x2B7A),
        extended_pan_id=zt.ExtendedPanId.convert("aa:bb:cc:dd:ee:ff:00:11"),
        channel=20,
        channel_mask=zt.Channels.from_channel_list([20]),
        network_key=backup.network_info.network_key.replace(
            key=zt.KeyData(bytes(range(0x10, 0x20))), tx_counter=100_000),
    )
    restored = zigpy.backups.NetworkBackup(
        backup_time=backup.backup_time, network_info=other, node_info=backup.node_info)
    await app.backups.restore_backup(restored)
    await app.shutdown()
    app = await start(path)
    now = app.state.network_info
    check((now.pan_id, now.extended_pan_id, now.channel, now.network_key.key)
          == (other.pan_id, other.extended_pan_id, other.channel, other.network_key.key),
          "after a restore the stick runs the restored network", now)
    check(now.network_key.tx_counter >= 100_000,
          "the restored NWK frame counter goes on from the backup's", now.network_key)

    # 5. A device joins by install code.
    ieee = zt.EUI64.convert(device_eui)
    joined = asyncio.get_running_loop().create_future()

    class Listener:
        def device_joined(self, device):
            if device.ieee == ieee and not joined.done():
                joined.set_result(device)

    app.add_listener(Listener())
    link_key = zigpy.util.convert_install_code(bytes.fromhex(install_code))
    check(link_key is not None, "zigpy accepts the install code", install_code)
    await app.permit_with_link_key(node=ieee, link_key=link_key, time_s=60)
    try:
        device = await asyncio.wait_for(joined, 20)
        check(device.nwk not in (0x0000, 0xFFFF), "the device joined with a short address",
              device)
    except asyncio.TimeoutError:
        check(False, "the device joined within 20 s")
        device = None
    if device is not None:
        backup = await app.backups.create_backup(load_devices=True)
        check(ieee in backup.network_info.children
              and backup.network_info.nwk_addresses.get(ieee) == device.nwk,
              "the child table a backup reads holds the device", backup.network_info.children)
        await interview(app, ieee)
    await load_control(app, zt.EUI64.convert(lcd_eui), link_key)
    await app.shutdown()


def messages(app, device):
    """A queue of (cluster, ZCL bytes) of every SE-profile message from `device`."""
    queue = asyncio.Queue()

    class Listener:
        def handle_message(self, sender, profile, cluster, src_ep, dst_ep, message):
            if sender.ieee == device.ieee and profile == 0x0109:
                queue.put_nowait((cluster, message))

    app.add_listener(Listener())
    return queue


async def interview(app, ieee):
    # zigpy interviews a device as it joins: node descriptor, active endpoints, then each
    # endpoint's simple descriptor (ZDO), then model and manufacturer from Basic.
    device = app.get_device(ieee=ieee)
    for _ in range(300):
        ep = device.endpoints.get(1)
        if ep is not None and ep.profile_id is not None:
            break
        await asyncio.sleep(0.1)
    node = device.node_desc
    check(node is not None and node.is_end_device, "the node descriptor: an end device", node)
    check([e.endpoint_id for e in device.non_zdo_endpoints] == [1],
          "the active endpoints: 1", device.endpoints)
    ep = device.endpoints.get(1)
    if ep is None or ep.profile_id is None:
        check(False, "the simple descriptor of endpoint 1 arrives", device.endpoints)
        return
    check((ep.profile_id, ep.device_type) == (0x0109, 0x0502),
          "endpoint 1: SE profile, in-premise display", (hex(ep.profile_id), ep.device_type))
    check(sorted(ep.in_clusters) == [0x0000]
          and sorted(ep.out_clusters) == [0x000A, 0x0700, 0x0702, 0x0703],
          "endpoint 1's clusters: Basic served; Time, Price, Metering, Messaging used",
          (list(map(hex, ep.in_clusters)), list(map(hex, ep.out_clusters))))
    # zigpy 2.4 passes ZCL only on the HA and ZLL profiles (zigpy/device.py
    # `_parse_packet_header`): an SE device's answers, on profile 0x0109 as the spec has them,
    # reach the application only as its `handle_message` event. Read Basic there, parsed with
    # zigpy's own types.
    answers = messages(app, device)
    tsn = app.get_sequence()
    read = foundation.GENERAL_COMMANDS[foundation.GeneralCommand.Read_Attributes]
    request = foundation.ZCLHeader.general(tsn, foundation.GeneralCommand.Read_Attributes)
    payload = request.serialize() + read.schema(attribute_ids=[0x0000, 0x0004, 0x0005, 0x0007]).serialize()
    await device.request(0x0109, 0x0000, 1, 1, tsn, payload, expect_reply=False)
    try:
        while True:
            cluster, data = await asyncio.wait_for(answers.get(), 10)
            hdr, rest = foundation.ZCLHeader.deserialize(data)
            if cluster == 0 and hdr.tsn == tsn:
                break
        records, _ = foundation.GENERAL_COMMANDS[
            foundation.GeneralCommand.Read_Attributes_rsp].schema.deserialize(rest)
        values = {r.attrid: r.value.value for r in records.status_records if r.status == 0}
        values = {k: v if isinstance(v, str) else int(v) for k, v in values.items()}
        check(values == {0x0000: 1, 0x0004: "hanrig", 0x0005: "sim-ihd", 0x0007: 1},
              "a Read Attributes of Basic on the SE profile answers the device's values", values)
    except asyncio.TimeoutError:
        check(False, "the device answers a Read Attributes of Basic on the SE profile")


async def load_control(app, ieee, link_key):
    # The device tried to join when the first device was let in, and was refused its key: it
    # is known to zigpy already, so its join now is a rejoin, which zigpy takes in handle_join.
    joined = asyncio.get_running_loop().create_future()
    handle_join = app.handle_join

    def on_join(nwk, joiner, parent_nwk, *args, **kwargs):
        handle_join(nwk, joiner, parent_nwk, *args, **kwargs)
        if joiner == ieee and not joined.done():
            joined.set_result(app.get_device(ieee=ieee))

    app.handle_join = on_join
    await app.permit_with_link_key(node=ieee, link_key=link_key, time_s=60)
    try:
        device = await asyncio.wait_for(joined, 20)
    except asyncio.TimeoutError:
        check(False, "the load-control device joined within 20 s")
        return
    answers = messages(app, device)
    # SE 1.0 Load Control Event (DRLC 0x0701, server to client, command 0x00): issuer event ID,
    # device class (water heater), enrollment group 0, start now, 30 minutes, criticality 3,
    # no temperature offsets or set points, no load adjustment or duty cycle, no event control.
    issuer = 0x0A0B0C0D
    event = (issuer.to_bytes(4, "little") + (0x0004).to_bytes(2, "little") + bytes([0])
             + (0).to_bytes(4, "little") + (30).to_bytes(2, "little") + bytes([3, 0xFF, 0xFF])
             + (0x8000).to_bytes(2, "little") + (0x8000).to_bytes(2, "little")
             + bytes([0x80, 0xFF, 0x00]))
    tsn = app.get_sequence()
    frame = bytes([0x09, tsn, 0x00]) + event
    await device.request(0x0109, 0x0701, 1, 1, tsn, frame, expect_reply=False,
                         aps_encryption=True)
    statuses = []
    try:
        while len(statuses) < 2:
            cluster, data = await asyncio.wait_for(answers.get(), 15)
            # Report Event Status: cluster-specific, client to server, command 0x00.
            if cluster == 0x0701 and data[0] & 0x0B == 0x01 and data[2] == 0x00:
                body = data[3:]
                statuses.append((int.from_bytes(body[0:4], "little"), body[4], body[9]))
    except asyncio.TimeoutError:
        pass
    check(statuses == [(issuer, 0x01, 3), (issuer, 0x02, 3)],
          "a Load Control Event from the application: the device reports received, then "
          "started, with its issuer ID and criticality", statuses)


if __name__ == "__main__":
    if "-v" in sys.argv:
        sys.argv.remove("-v")
        logging.basicConfig(level=logging.DEBUG)
    asyncio.run(main(*sys.argv[1:5]))
    print(f"{failures} failed")
    sys.exit(1 if failures else 0)
