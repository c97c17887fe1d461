//! `hanrig capture …`: decode a capture down to the SE command fields, or synthesise one.

use std::path::PathBuf;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum CaptureCommand {
    /// Decode every frame of a capture down to the SE command fields, decrypting NWK and APS
    /// security with the keys of a Wireshark `zigbee_pc_keys` file (network keys sent in
    /// Transport Key frames are learnt on the way).
    Decode {
        /// The capture (pcapng or pcap, link type 195).
        file: PathBuf,
        /// Key file: `"KEY","Normal","label"` lines, as `hanrig` writes and Wireshark reads.
        #[arg(long)]
        keys: Option<PathBuf>,
        /// One JSON object per frame instead of one line of text.
        #[arg(long)]
        json: bool,
    },
    /// Write a capture with one secured frame of every SE command, preceded by the APS
    /// Transport-Key frame that hands the network key to the device under the key derived
    /// from its install code; and the key file that decrypts it all.
    Synth {
        /// Capture file to write.
        #[arg(long)]
        out: PathBuf,
        /// Key file to write.
        #[arg(long)]
        keys: PathBuf,
        /// The device's install code.
        #[arg(long, default_value = "83FED3407A939723A5C639B26916D505C3B5")]
        install_code: String,
    },
}

/// Runs `hanrig capture …`.
pub fn run(command: CaptureCommand) -> anyhow::Result<String> {
    match command {
        CaptureCommand::Decode { file, keys, json } => {
            hanrig_capture::decode(&file, keys.as_deref(), json)
        }
        CaptureCommand::Synth {
            out,
            keys,
            install_code,
        } => {
            let code = install_code
                .parse()
                .map_err(|e| anyhow::anyhow!("install code refused: {e}"))?;
            hanrig_capture::synth(
                &out,
                &keys,
                &code,
                &crate::zcl::corpus_one_per_command().map_err(anyhow::Error::msg)?,
            )
        }
    }
    .map_err(anyhow::Error::msg)
}
