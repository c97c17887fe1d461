//! `hanrig`: the command-line tool of the hanrig test rig and gateway. One module per
//! subcommand; the work is done by the libraries (`hanrig-conformance`, `hanrig-radio-host`,
//! `hanrig-capture`, `hanrig-lab`, the gateway's and the simulator's crates).

mod capture;
mod cbke;
mod gateway;
mod lab;
mod radio;
mod sim;
mod suites;
mod usage;
mod zcl;

use std::io::Read;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// hanrig — ZigBee Smart Energy 1.0 test rig and gateway.
#[derive(Debug, Parser)]
#[command(name = "hanrig", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Top,
}

#[derive(Debug, Subcommand)]
enum Top {
    /// Decode and encode ZCL frames of the Smart Energy clusters.
    #[command(subcommand)]
    Zcl(zcl::ZclCommand),
    /// Read and write captures (pcapng, IEEE 802.15.4 with FCS) and their key files.
    #[command(subcommand)]
    Capture(capture::CaptureCommand),
    /// Run a simulated HAN scenario on virtual time (writes capture.pcapng, keys and
    /// events.jsonl into the output directory), or serve a simulated radio co-processor.
    Sim(sim::SimArgs),
    /// Talk to a radio co-processor (a stick on a serial port, or `socket://host:port`).
    #[command(subcommand)]
    Radio(radio::RadioCommand),
    /// List the conformance cases (or the simulated mutants).
    List(suites::ListArgs),
    /// Run conformance cases on a rig. Exit code 0: all passed; 1: the DUT failed a case;
    /// 2: the rig itself failed.
    Run(suites::RunArgs),
    /// Drive a lab rig's hardware DUT: its power, reset and join-button lines on Raspberry Pi
    /// GPIO (`--features gpio`), or flash it with a debug probe (`--features flash`).
    ///
    /// `hanrig lab up --dir D` instead brings the whole gateway system up on this machine:
    /// the API, a connector and simulated head-end per TDSP, and a simulated HAN.
    Lab(lab::LabArgs),
    /// The HAN gateway: administer its companies, users and certificates, or serve its API.
    #[command(subcommand)]
    Gateway(gateway::GatewayCommand),
    /// The usage repository: ingest the TDSPs' interval files, export Green Button or CSV,
    /// apply retention.
    #[command(subcommand)]
    Usage(usage::UsageCommand),
    /// Certificate-Based Key Establishment (suite 1): compute an exchange from fixed keys,
    /// reconstruct a certificate's key, run a test certificate authority.
    #[command(subcommand)]
    Cbke(cbke::CbkeCommand),
    /// Check an install code and derive the link key it gives.
    InstallCode {
        /// The code: hex digits (6, 8, 12 or 16 bytes plus the 2-byte CRC), optionally
        /// separated by spaces, '-' or ':'.
        code: String,
    },
}

fn main() -> ExitCode {
    let command = Cli::parse().command;
    let done = match command {
        Top::Run(args) => return suites::run(&args),
        Top::Zcl(c) => zcl::run(c),
        Top::Capture(c) => capture::run(c),
        Top::Sim(args) => sim::run_command(args),
        Top::Radio(c) => radio::run(c),
        Top::List(args) => suites::list(args),
        Top::Lab(args) => lab::run(args),
        Top::Gateway(c) => gateway::run(c),
        Top::Usage(c) => usage::run(c),
        Top::Cbke(c) => cbke::run(c),
        Top::InstallCode { code } => zcl::install_code(&code).map_err(anyhow::Error::msg),
    };
    match done {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// A file's text, or standard input's for none or `-`.
pub(crate) fn read_input(file: Option<&str>) -> Result<String, String> {
    match file {
        None | Some("-") => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| format!("reading standard input: {e}"))?;
            Ok(text)
        }
        Some(path) => std::fs::read_to_string(path).map_err(|e| format!("reading {path}: {e}")),
    }
}
