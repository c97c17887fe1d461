//! Serving a simulated co-processor to hosts: on a TCP port (`socket://`) or on a
//! pseudo-terminal that hosts open as a serial port.

use std::io::{Read, Write};
use std::net::{TcpListener, ToSocketAddrs};
use std::time::{Duration, Instant};

/// A sans-IO simulated co-processor: bytes from the host in, bytes for the host out.
pub trait Coprocessor {
    /// Bytes from the host, at `now_us` of the server's clock.
    fn handle_bytes(&mut self, now_us: u64, bytes: &[u8]);
    /// Bytes for the host, if any.
    fn poll_transmit(&mut self, now_us: u64, out: &mut [u8]) -> Option<usize>;
    /// Runs timers.
    fn handle_timeout(&mut self, now_us: u64);
}

/// Serves one co-processor on `address` (e.g. `127.0.0.1:9999`) to each host in turn until
/// the process ends, as a stick behind a serial-to-TCP bridge: a host that disconnects and
/// comes back finds what the co-processor keeps across reboots (its tokens) and its devices
/// still in range. `on_ready` gets the bound address.
pub fn serve_tcp<C: Coprocessor>(
    address: impl ToSocketAddrs,
    mut ncp: C,
    on_ready: impl FnOnce(std::net::SocketAddr),
) -> std::io::Result<()> {
    let listener = TcpListener::bind(address)?;
    on_ready(listener.local_addr()?);
    let started = Instant::now();
    for stream in listener.incoming() {
        let mut stream = stream?;
        stream.set_read_timeout(Some(Duration::from_millis(5)))?;
        stream.set_nodelay(true)?;
        let mut buf = [0u8; 512];
        let mut out = [0u8; 300];
        loop {
            let now = started.elapsed().as_micros() as u64;
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => ncp.handle_bytes(now, &buf[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => break,
            }
            ncp.handle_timeout(now);
            while let Some(len) = ncp.poll_transmit(now, &mut out) {
                if stream.write_all(&out[..len]).is_err() {
                    break;
                }
            }
        }
    }
    Ok(())
}

/// Serves one co-processor on a new pseudo-terminal until the process ends; `on_ready` gets the
/// terminal's path (`/dev/pts/N`) for hosts to open as a serial port. The terminal is put in
/// raw mode at once, and its slave side is kept open so that hosts may come and go.
///
/// With `baud`, the line is paced as a UART at that rate (8N1, ten bits a byte): bytes from
/// the host are taken only once they would have arrived, and bytes to the host leave no faster
/// than the line carries them (one direction at a time), so round trips take what they take
/// on a real serial link.
pub fn serve_pty<C: Coprocessor>(
    ncp: C,
    baud: Option<u32>,
    on_ready: impl FnOnce(&std::path::Path),
) -> std::io::Result<()> {
    serve_pty_until(
        ncp,
        baud,
        on_ready,
        &std::sync::atomic::AtomicBool::new(false),
    )
    .map(|_| ())
}

/// [`serve_pty`] until `stop` is set; returns the co-processor (with its simulation).
pub fn serve_pty_until<C: Coprocessor>(
    mut ncp: C,
    baud: Option<u32>,
    on_ready: impl FnOnce(&std::path::Path),
    stop: &std::sync::atomic::AtomicBool,
) -> std::io::Result<C> {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};
    use std::os::fd::AsFd;

    let pty = nix::pty::openpty(None, None)?;
    let mut termios = tcgetattr(&pty.slave)?;
    cfmakeraw(&mut termios);
    tcsetattr(&pty.slave, SetArg::TCSANOW, &termios)?;
    let path = nix::unistd::ttyname(&pty.slave)?;
    on_ready(&path);
    let _slave = pty.slave; // held open for the life of the server
    let mut master = std::fs::File::from(pty.master);
    let started = Instant::now();
    let mut buf = [0u8; 512];
    let mut out = [0u8; 300];
    // Time a byte takes on the line, and when the line is next free.
    let byte_time = baud.map(|b| Duration::from_nanos(10_000_000_000 / u64::from(b.max(1))));
    let mut line_free = Instant::now();
    let mut pace = |bytes: usize| {
        if let Some(t) = byte_time {
            let done = line_free.max(Instant::now()) + t * bytes as u32;
            std::thread::sleep(done.saturating_duration_since(Instant::now()));
            line_free = done;
        }
    };
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let now = started.elapsed().as_micros() as u64;
        let readable = {
            let mut fds = [PollFd::new(master.as_fd(), PollFlags::POLLIN)];
            poll(&mut fds, PollTimeout::from(5u8))? > 0
                && fds[0]
                    .revents()
                    .is_some_and(|r| r.contains(PollFlags::POLLIN))
        };
        if readable {
            match master.read(&mut buf) {
                Ok(n) if n > 0 => {
                    pace(n);
                    ncp.handle_bytes(started.elapsed().as_micros() as u64, &buf[..n]);
                }
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(nix::libc::EIO) => {}
                Err(e) => return Err(e),
            }
        }
        ncp.handle_timeout(now);
        while let Some(len) = ncp.poll_transmit(now, &mut out) {
            pace(len);
            master.write_all(&out[..len])?;
        }
    }
    Ok(ncp)
}
