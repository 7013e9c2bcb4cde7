//! A pty for foreground `run`/`exec` with a terminal but no `--console-socket`
//! (runc does the same): cagebox listens on a private socket, the container
//! sends it the pty master, and cagebox copies its own stdin/stdout to and
//! from the master until the container's process exits, forwarding signals
//! and window size changes.

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, Signal, kill};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
use nix::sys::termios::{SetArg, Termios, cfmakeraw, tcgetattr, tcsetattr};
use nix::unistd::Pid;

use super::foreground;

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("console socket {path}: {msg}")]
    Socket { path: String, msg: String },
    #[error("console: {0}")]
    Io(String),
}

fn io<E: std::fmt::Display>(e: E) -> ConsoleError {
    ConsoleError::Io(e.to_string())
}

/// A listening socket for libcontainer's console protocol; removed on drop.
pub struct Listener {
    listener: UnixListener,
    path: PathBuf,
}

impl Listener {
    pub fn new(root: &Path, id: &str) -> Result<Self, ConsoleError> {
        let path = root.join(format!(".console-{id}-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).map_err(|e| ConsoleError::Socket {
            path: path.display().to_string(),
            msg: e.to_string(),
        })?;
        Ok(Listener { listener, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The pty master the container sent (it connected during create).
    pub fn receive(&self) -> Result<OwnedFd, ConsoleError> {
        let (conn, _) = self.listener.accept().map_err(io)?;
        let mut buf = [0u8; 4096];
        let mut iov = [std::io::IoSliceMut::new(&mut buf)];
        let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 1]);
        let msg = recvmsg::<()>(
            conn.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::empty(),
        )
        .map_err(io)?;
        for c in msg.cmsgs().map_err(io)? {
            if let ControlMessageOwned::ScmRights(fds) = c
                && let Some(fd) = fds.first()
            {
                // SAFETY: the kernel just installed this descriptor for us
                // (SCM_RIGHTS); nothing else owns it.
                return Ok(unsafe { OwnedFd::from_raw_fd(*fd) });
            }
        }
        Err(ConsoleError::Io("no pty master received".into()))
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Puts stdin in raw mode while alive (when it is a terminal).
struct RawMode(Option<Termios>);

impl RawMode {
    fn new() -> Self {
        let stdin = std::io::stdin();
        let Ok(orig) = tcgetattr(stdin.as_fd()) else {
            return RawMode(None);
        };
        let mut raw = orig.clone();
        cfmakeraw(&mut raw);
        if tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw).is_err() {
            return RawMode(None);
        }
        RawMode(Some(orig))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(orig) = &self.0 {
            let _ = tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, orig);
        }
    }
}

/// Copies our terminal's window size to the pty.
fn copy_winsize(master: &OwnedFd) {
    let mut ws: libc::winsize = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one winsize into `ws`; TIOCSWINSZ reads one.
    unsafe {
        if libc::ioctl(0, libc::TIOCGWINSZ, &mut ws) == 0 {
            libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws);
        }
    }
}

/// Proxies stdio and the pty until `init` exits; returns its exit code.
/// `set` is the signal set blocked before the container was created.
pub fn proxy(master: OwnedFd, init: Pid, set: &SigSet) -> Result<i32, ConsoleError> {
    let sfd =
        SignalFd::with_flags(set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK).map_err(io)?;
    let _raw = RawMode::new();
    copy_winsize(&master);
    let mut master_file = std::fs::File::from(master.try_clone().map_err(io)?);
    let mut stdin_open = true;
    let mut master_open = true;
    let mut buf = [0u8; 8192];
    loop {
        if let Some(code) = foreground::reap(init).map_err(io)? {
            drain(&mut master_file, &mut buf);
            return Ok(code);
        }
        let stdin = std::io::stdin();
        let mut fds = vec![PollFd::new(sfd.as_fd(), PollFlags::POLLIN)];
        if master_open {
            fds.push(PollFd::new(master.as_fd(), PollFlags::POLLIN));
        }
        if stdin_open {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(io(e)),
        }
        let ready = |i: usize| {
            fds.get(i)
                .and_then(|f| f.revents())
                .is_some_and(|r| !r.is_empty())
        };
        let (sig_ready, master_ready, stdin_ready) = (
            ready(0),
            master_open && ready(1),
            stdin_open && ready(if master_open { 2 } else { 1 }),
        );
        drop(fds);
        if sig_ready {
            while let Ok(Some(info)) = sfd.read_signal() {
                match Signal::try_from(info.ssi_signo as i32) {
                    Ok(Signal::SIGCHLD) => {}
                    Ok(Signal::SIGWINCH) => copy_winsize(&master),
                    Ok(Signal::SIGURG) | Err(_) => {}
                    Ok(other) => {
                        let _ = kill(init, other);
                    }
                }
            }
        }
        if master_ready {
            match master_file.read(&mut buf) {
                Ok(0) | Err(_) => master_open = false,
                Ok(n) => {
                    let mut out = std::io::stdout();
                    let _ = out.write_all(&buf[..n]);
                    let _ = out.flush();
                }
            }
        }
        if stdin_ready {
            match std::io::stdin().read(&mut buf) {
                // End of input: send the terminal's EOF character once.
                Ok(0) | Err(_) => {
                    stdin_open = false;
                    let _ = master_file.write_all(&[4]);
                }
                Ok(n) => {
                    let _ = master_file.write_all(&buf[..n]);
                }
            }
        }
    }
}

/// What the container wrote just before exiting.
fn drain(master: &mut std::fs::File, buf: &mut [u8]) {
    // SAFETY: F_SETFL on a descriptor we own; no memory is passed.
    unsafe {
        let fd = master.as_raw_fd();
        let flags = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
    let mut out = std::io::stdout();
    while let Ok(n) = master.read(buf) {
        if n == 0 {
            break;
        }
        let _ = out.write_all(&buf[..n]);
    }
    let _ = out.flush();
}
