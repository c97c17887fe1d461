//! Opening a port string: a serial device (tokio-serial) or `socket://host:port` (TCP).

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_serial::SerialPortBuilderExt;

use super::RadioError;

/// Serial flow control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowControl {
    /// None.
    None,
    /// RTS/CTS.
    Hardware,
    /// XON/XOFF.
    Software,
}

/// An open port.
pub enum Port {
    /// A serial device.
    Serial(tokio_serial::SerialStream),
    /// A TCP connection.
    Tcp(tokio::net::TcpStream),
    /// An in-process link (tests: a co-processor on the other end, faults in between).
    Memory(tokio::io::DuplexStream),
}

impl std::fmt::Debug for Port {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Port::Serial(_) => "Port::Serial",
            Port::Tcp(_) => "Port::Tcp",
            Port::Memory(_) => "Port::Memory",
        })
    }
}

/// Opens `port`: `socket://host:port` over TCP, anything else as a serial device at `baud`.
pub async fn open(port: &str, baud: u32, flow: FlowControl) -> Result<Port, RadioError> {
    let fail = |reason: String| RadioError::Open {
        port: port.to_string(),
        reason,
    };
    if let Some(address) = port.strip_prefix("socket://") {
        let stream = tokio::net::TcpStream::connect(address)
            .await
            .map_err(|e| fail(e.to_string()))?;
        stream.set_nodelay(true).map_err(|e| fail(e.to_string()))?;
        return Ok(Port::Tcp(stream));
    }
    let flow = match flow {
        FlowControl::None => tokio_serial::FlowControl::None,
        FlowControl::Hardware => tokio_serial::FlowControl::Hardware,
        FlowControl::Software => tokio_serial::FlowControl::Software,
    };
    tokio_serial::new(port, baud)
        .flow_control(flow)
        .open_native_async()
        .map(Port::Serial)
        .map_err(|e| fail(e.to_string()))
}

impl AsyncRead for Port {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Port::Serial(s) => Pin::new(s).poll_read(cx, buf),
            Port::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Port::Memory(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Port {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Port::Serial(s) => Pin::new(s).poll_write(cx, buf),
            Port::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Port::Memory(s) => Pin::new(s).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Port::Serial(s) => Pin::new(s).poll_flush(cx),
            Port::Tcp(s) => Pin::new(s).poll_flush(cx),
            Port::Memory(s) => Pin::new(s).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Port::Serial(s) => Pin::new(s).poll_shutdown(cx),
            Port::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Port::Memory(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}
