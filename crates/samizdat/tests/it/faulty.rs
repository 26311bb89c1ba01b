//! A fault-injecting TCP proxy for the tests: it sits between a client
//! and a node on loopback and can cut the link (connections reset, new
//! ones refused), stall it (bytes held, connections open) or throttle it
//! to a low rate, at once or after a given number of bytes have gone to
//! the client. It runs on its own thread and runtime, so a test that
//! blocks on a child process cannot starve it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What happens once the trigger is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Reset every connection and refuse new ones.
    Cut,
    /// Hold every byte, keep every connection open.
    Stall,
}

#[derive(Default)]
struct Control {
    /// Bumped on every cut: connections of an older generation close.
    generation: AtomicU64,
    refusing: AtomicBool,
    stalled: AtomicBool,
    /// Bytes per second each way on each connection; 0 for no limit.
    rate: AtomicU64,
    /// Bytes that have gone to the client, on all connections.
    down: AtomicU64,
    /// The fault to raise once `down` reaches `after`.
    armed: std::sync::Mutex<Option<(u64, Fault)>>,
    closing: AtomicBool,
}

impl Control {
    fn raise(&self, fault: Fault) {
        match fault {
            Fault::Cut => {
                self.refusing.store(true, Ordering::SeqCst);
                self.generation.fetch_add(1, Ordering::SeqCst);
            }
            Fault::Stall => self.stalled.store(true, Ordering::SeqCst),
        }
    }

    /// How many of `n` bytes to the client may pass before the armed
    /// fault, and the fault if it is reached.
    fn allow_down(&self, n: u64) -> (u64, Option<Fault>) {
        let mut armed = self.armed.lock().expect("proxy control");
        let down = self.down.load(Ordering::SeqCst);
        match *armed {
            Some((after, fault)) if down + n >= after => {
                *armed = None;
                let pass = after.saturating_sub(down);
                self.down.fetch_add(pass, Ordering::SeqCst);
                (pass, Some(fault))
            }
            _ => {
                self.down.fetch_add(n, Ordering::SeqCst);
                (n, None)
            }
        }
    }
}

/// The proxy; dropping it closes everything.
pub struct Faulty {
    pub addr: SocketAddr,
    control: Arc<Control>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Faulty {
    /// A proxy on a free loopback port in front of `target`.
    pub fn start(target: SocketAddr) -> Faulty {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("proxy bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("proxy addr");
        let control = Arc::new(Control::default());
        let (shutdown, mut closed) = tokio::sync::oneshot::channel();
        let shared = control.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("proxy runtime");
            runtime.block_on(async move {
                let listener = TcpListener::from_std(listener).expect("proxy listener");
                loop {
                    tokio::select! {
                        _ = &mut closed => break,
                        accepted = listener.accept() => {
                            let Ok((client, _)) = accepted else { continue };
                            tokio::spawn(relay(client, target, shared.clone()));
                        }
                    }
                }
                shared.closing.store(true, Ordering::SeqCst);
            });
            // Dropping the runtime ends every connection's tasks.
        });
        Faulty {
            addr,
            control,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// The proxy as a `ws://` URL.
    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// Raises `fault` once `bytes` more have gone to the client.
    pub fn fault_after(&self, bytes: u64, fault: Fault) {
        let mut armed = self.control.armed.lock().expect("proxy control");
        let down = self.control.down.load(Ordering::SeqCst);
        *armed = Some((down + bytes, fault));
    }

    /// Limits each direction of each connection to `bytes_per_second`
    /// (0: no limit).
    pub fn throttle(&self, bytes_per_second: u64) {
        self.control.rate.store(bytes_per_second, Ordering::SeqCst);
    }

    /// Brings the link back: no cut, no stall, no throttle, nothing armed.
    /// Connections stalled until now are reset, as a real link that comes
    /// back after a long outage would have dropped them.
    pub fn restore(&self) {
        *self.control.armed.lock().expect("proxy control") = None;
        self.control.generation.fetch_add(1, Ordering::SeqCst);
        self.control.stalled.store(false, Ordering::SeqCst);
        self.control.refusing.store(false, Ordering::SeqCst);
        self.control.rate.store(0, Ordering::SeqCst);
    }

    /// Bytes that have gone to the client so far.
    pub fn bytes_down(&self) -> u64 {
        self.control.down.load(Ordering::SeqCst)
    }
}

impl Drop for Faulty {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn relay(client: TcpStream, target: SocketAddr, control: Arc<Control>) {
    let _ = client.set_nodelay(true);
    if control.refusing.load(Ordering::SeqCst) {
        reset(client);
        return;
    }
    let Ok(Ok(upstream)) =
        tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(target)).await
    else {
        reset(client);
        return;
    };
    let _ = upstream.set_nodelay(true);
    let (mut client, mut upstream) = (client, upstream);
    let generation = control.generation.load(Ordering::SeqCst);
    {
        let (mut client_read, mut client_write) = client.split();
        let (mut upstream_read, mut upstream_write) = upstream.split();
        tokio::join!(
            pump(
                &mut client_read,
                &mut upstream_write,
                false,
                generation,
                &control
            ),
            pump(
                &mut upstream_read,
                &mut client_write,
                true,
                generation,
                &control
            ),
        );
    }
    if control.generation.load(Ordering::SeqCst) != generation {
        reset(client);
        reset(upstream);
    }
}

/// Closes with a reset, as a link that drops does, not a clean FIN.
fn reset(stream: TcpStream) {
    // A zero linger does not block: the reset goes out at once.
    #[allow(deprecated)]
    let _ = stream.set_linger(Some(Duration::ZERO));
    drop(stream);
}

/// Copies one direction until its source closes or the link is cut.
async fn pump<R, W>(from: &mut R, to: &mut W, to_client: bool, generation: u64, control: &Control)
where
    R: tokio::io::AsyncRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    let tick = Duration::from_millis(20);
    let mut buf = vec![0u8; 16 * 1024];
    let alive = |control: &Control| {
        control.generation.load(Ordering::SeqCst) == generation
            && !control.closing.load(Ordering::SeqCst)
    };
    // Bounded by the connection's life: every round waits at most a tick
    // or the throttle's pause, and the loop ends once the source closes,
    // the link is cut or the proxy closes.
    while alive(control) {
        if control.stalled.load(Ordering::SeqCst) {
            tokio::time::sleep(tick).await;
            continue;
        }
        let rate = control.rate.load(Ordering::SeqCst);
        // At most a tick's worth of bytes at a time when throttled.
        let most = if rate == 0 {
            buf.len()
        } else {
            ((rate / 50).max(1) as usize).min(buf.len())
        };
        let n = match tokio::time::timeout(tick, from.read(&mut buf[..most])).await {
            Err(_) => continue,
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => n,
        };
        let (pass, fault) = if to_client {
            let (pass, fault) = control.allow_down(n as u64);
            (pass as usize, fault)
        } else {
            (n, None)
        };
        if pass > 0 && to.write_all(&buf[..pass]).await.is_err() {
            break;
        }
        if let Some(fault) = fault {
            let _ = to.flush().await;
            control.raise(fault);
            if fault == Fault::Stall {
                // What was read past the trigger waits for the stall to
                // end, or is lost with the connection.
                while alive(control) && control.stalled.load(Ordering::SeqCst) {
                    tokio::time::sleep(tick).await;
                }
                if !alive(control) || to.write_all(&buf[pass..n]).await.is_err() {
                    break;
                }
            }
        }
        if rate > 0 {
            tokio::time::sleep(Duration::from_secs_f64(n as f64 / rate as f64)).await;
        }
    }
    if alive(control) {
        // The source closed: pass the close on.
        let _ = to.shutdown().await;
    }
}
