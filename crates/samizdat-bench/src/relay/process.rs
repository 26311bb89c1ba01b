//! A relay under test as a child process: started, measured, stopped.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use serde_json::Value;

/// One relay under test: a child process, its data directory and its log.
pub(crate) struct Relay {
    pub(super) name: &'static str,
    pub(crate) url: String,
    child: Child,
    pub(super) data: tempfile::TempDir,
    _logs: tempfile::TempDir,
}

impl Relay {
    pub(super) fn samizdat() -> Result<Relay> {
        Relay::samizdat_with("")
    }

    /// A samizdat node whose `samizdat.toml` also holds `settings`.
    pub(crate) fn samizdat_with(settings: &str) -> Result<Relay> {
        let data = tempfile::tempdir().context("creating a data directory")?;
        let logs = tempfile::tempdir().context("creating a log directory")?;
        // The defaults protect a node from one client; here one client is
        // the whole load, so the per-client budgets are lifted.
        let config = data.path().join("samizdat.toml");
        std::fs::write(
            &config,
            format!(
                "{settings}[relay]\nevents_per_second = 10000000\nevents_per_second_per_ip = 10000000\n\
                 queries_per_second = 10000000\n"
            ),
        )?;
        let exe = crate::samizdat_exe()?;
        let log = std::fs::File::create(logs.path().join("serve.log"))?;
        let mut child = Command::new(exe)
            .arg("--data")
            .arg(data.path().join("node"))
            .args(["--json", "serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .context("starting samizdat serve")?;
        let stdout = child.stdout.take().context("samizdat serve's output")?;
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)?;
        let announced: Value =
            serde_json::from_str(&line).with_context(|| format!("samizdat serve said {line:?}"))?;
        let url = announced["relay"]
            .as_str()
            .context("samizdat serve did not say where it listens")?
            .to_string();
        Ok(Relay {
            name: "samizdat",
            url,
            child,
            data,
            _logs: logs,
        })
    }

    pub(super) fn nostr_rs_relay(binary: &Path) -> Result<Relay> {
        let data = tempfile::tempdir().context("creating a data directory")?;
        let logs = tempfile::tempdir().context("creating a log directory")?;
        let port = free_port()?;
        let config = logs.path().join("config.toml");
        std::fs::write(
            &config,
            format!(
                "[info]\nrelay_url = \"ws://127.0.0.1:{port}/\"\nname = \"bench\"\n\
                 [database]\ndata_directory = {data:?}\n\
                 [network]\naddress = \"127.0.0.1\"\nport = {port}\n\
                 [options]\nreject_future_seconds = 1800\n\
                 [limits]\nmax_event_bytes = 262144\nmax_ws_message_bytes = 524288\n\
                 max_ws_frame_bytes = 524288\n",
                data = data.path().display().to_string(),
            ),
        )?;
        let log = std::fs::File::create(logs.path().join("relay.log"))?;
        let child = Command::new(binary)
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let mut relay = Relay {
            name: "nostr-rs-relay",
            url: format!("ws://127.0.0.1:{port}"),
            child,
            data,
            _logs: logs,
        };
        // Up to ten seconds for it to open its port.
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(relay);
            }
            if let Some(status) = relay.child.try_wait()? {
                bail!("nostr-rs-relay exited at start ({status})");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        relay.kill();
        bail!("nostr-rs-relay did not open port {port} within 10 s")
    }

    /// Resident and peak resident memory, in KiB.
    pub(crate) fn memory(&self) -> Result<(u64, u64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .with_context(|| format!("reading {}'s memory use", self.name))?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .unwrap_or(0)
        };
        Ok((field("VmRSS:"), field("VmHWM:")))
    }

    /// The process's id, for the CPU time it used (`cpu`).
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then (bounded) wait; SIGKILL if it does not go.
    pub(crate) fn stop(&mut self) -> Result<()> {
        let pid = libc::pid_t::try_from(self.child.id()).context("process id")?;
        // SAFETY: signalling our own child process.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        for _ in 0..300 {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.kill();
        bail!("{} did not stop within 30 s of SIGTERM", self.name)
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.kill();
        }
    }
}

fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

pub(super) fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok())
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}
