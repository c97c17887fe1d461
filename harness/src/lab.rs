//! `hanrig lab …`: drive a lab rig's hardware DUT, or bring the whole simulated gateway system
//! up on this machine.

use std::path::PathBuf;

use clap::Subcommand;
use hanrig_rig::bench::LabAction;

/// `hanrig lab`: `up --dir D`, or `--rig FILE ACTION`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LabArgs {
    /// Bring the simulated system up.
    #[command(subcommand)]
    up: Option<LabUp>,
    /// The lab rig file (rigs/example-lab.toml shows one).
    #[arg(long)]
    rig: Option<PathBuf>,
    /// What to do.
    action: Option<LabAction>,
}

#[derive(Debug, Subcommand)]
pub enum LabUp {
    /// The gateway's API, one connector and simulated head-end per TDSP, a simulated HAN of
    /// N meters with an in-home device each, a demo third party with agreements; writes
    /// ca.pem, client.pem, client.key and lab.json into the directory and runs until
    /// interrupted.
    Up(hanrig_lab::LabOptions),
}

/// Runs `hanrig lab …`.
pub fn run(args: LabArgs) -> anyhow::Result<String> {
    match args {
        LabArgs {
            up: Some(LabUp::Up(options)),
            ..
        } => hanrig_lab::up(&options),
        LabArgs {
            rig: Some(rig),
            action: Some(action),
            ..
        } => hanrig_rig::bench::operate(&rig, action),
        LabArgs { .. } => {
            Err("hanrig lab needs `up --dir DIR`, or --rig FILE and an action".into())
        }
    }
    .map_err(anyhow::Error::msg)
}
