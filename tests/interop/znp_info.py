"""Connects zigpy-znp to a ZNP co-processor at PORT and prints what it reads of the network:
one `key=value` per line. Usage: znp_info.py PORT"""

import asyncio
import sys

import zigpy_znp.config as conf
from zigpy_znp.api import ZNP


async def main(port: str) -> None:
    znp = ZNP(conf.CONFIG_SCHEMA({conf.CONF_DEVICE: {conf.CONF_DEVICE_PATH: port}}))
    await znp.connect()
    await znp.load_network_info(load_devices=True)
    network, node = znp.network_info, znp.node_info
    for key, value in [
        ("zstack", znp.version),
        ("ieee", node.ieee),
        ("nwk", f"0x{node.nwk:04x}"),
        ("logical_type", node.logical_type.name),
        ("pan_id", f"0x{network.pan_id:04x}"),
        ("extended_pan_id", network.extended_pan_id),
        ("channel", network.channel),
        ("network_key", network.network_key.key),
        ("frame_counter", network.network_key.tx_counter),
    ]:
        print(f"{key}={value}")
    await znp.disconnect()


asyncio.run(main(sys.argv[1]))
