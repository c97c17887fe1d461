//! The ZigBee Cluster Library layer: frame header, general commands, and the command table that
//! maps (cluster, frame type, direction, command ID) to a typed command.

pub mod command;
pub mod general;
pub mod header;
