//! Who may use the console: "the operator on this machine" (loopback,
//! a loopback name, no forwarding header, the access key), the one
//! unlocked session, and the throttle on unlocking. See the console's
//! module for why.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, header};
use samizdat_core::nostr::prelude::Keys;

use super::super::csrf;
use crate::server::web::Web;

/// How long an unlocked console keeps its key without being used.
pub const IDLE: Duration = Duration::from_secs(30 * 60);

/// The cookie that names the browser the console was unlocked in.
pub(super) const COOKIE: &str = "samizdat_console";
/// The cookie that carries the access key.
pub(super) const ACCESS: &str = "samizdat_access";
/// The longest wait between two unlock attempts after wrong passphrases.
const MAX_UNLOCK_DELAY: Duration = Duration::from_secs(60);

/// Headers a forwarding proxy adds: a request that carries one came from
/// somewhere else, whatever address it arrived from.
const FORWARDING: &[&str] = &[
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-forwarded-port",
    "x-forwarded-server",
    "x-real-ip",
    "x-client-ip",
    "true-client-ip",
    "cf-connecting-ip",
    "via",
];

struct Session {
    token: String,
    keys: Keys,
    last: Instant,
}

/// Wrong passphrases so far, and when the next attempt may be made.
#[derive(Default)]
struct Throttle {
    failures: u32,
    not_before: Option<Instant>,
}

/// The console: its access key, its one session if it is unlocked, and
/// the unlock throttle.
pub struct Console {
    pub(super) access: String,
    session: Mutex<Option<Session>>,
    throttle: Mutex<Throttle>,
    /// One key derivation (scrypt, 64 MiB) at a time, for the whole node.
    pub(super) deriving: tokio::sync::Semaphore,
}

impl Default for Console {
    fn default() -> Self {
        Console::new()
    }
}

impl Console {
    pub fn new() -> Console {
        Console {
            access: csrf::token(),
            session: Mutex::new(None),
            throttle: Mutex::new(Throttle::default()),
            deriving: tokio::sync::Semaphore::new(1),
        }
    }

    /// The access key `serve` hands the operator.
    pub fn access_key(&self) -> &str {
        &self.access
    }

    fn session(&self) -> std::sync::MutexGuard<'_, Option<Session>> {
        self.session.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The documenter's key, if `cookie` names the unlocked session and it
    /// has not been idle too long; using it keeps it alive.
    pub(super) fn keys(&self, cookie: Option<&str>) -> Option<Keys> {
        let mut session = self.session();
        let now = Instant::now();
        if session
            .as_ref()
            .is_some_and(|s| now.duration_since(s.last) > IDLE)
        {
            *session = None;
        }
        let s = session.as_mut()?;
        let cookie = cookie?;
        if !csrf::same(s.token.as_bytes(), cookie.as_bytes()) {
            return None;
        }
        s.last = now;
        Some(s.keys.clone())
    }

    pub(super) fn open(&self, keys: Keys) -> String {
        let token = csrf::token();
        *self.session() = Some(Session {
            token: token.clone(),
            keys,
            last: Instant::now(),
        });
        token
    }

    pub(super) fn close(&self) {
        // Dropping the keys erases them.
        *self.session() = None;
    }

    /// Locks the console if it has been idle for [`IDLE`]; the node calls
    /// this on a timer. Returns whether it locked.
    pub fn expire(&self, now: Instant) -> bool {
        let mut session = self.session();
        if session
            .as_ref()
            .is_some_and(|s| now.duration_since(s.last) > IDLE)
        {
            *session = None;
            tracing::info!("web: the console locked itself after {IDLE:?} unused");
            return true;
        }
        false
    }

    /// How long until an unlock may be tried, if it may not be now.
    pub(super) fn wait(&self, now: Instant) -> Option<Duration> {
        let throttle = self.throttle.lock().unwrap_or_else(|p| p.into_inner());
        throttle
            .not_before
            .and_then(|t| t.checked_duration_since(now))
            .filter(|d| !d.is_zero())
    }

    /// Records an attempt's outcome. One mistyped passphrase may be tried
    /// again at once; each wrong one after it doubles the wait before the
    /// next (1 s, 2 s, 4 s… up to a minute), for the whole node.
    pub(super) fn attempted(&self, ok: bool, now: Instant) {
        let mut throttle = self.throttle.lock().unwrap_or_else(|p| p.into_inner());
        if ok {
            *throttle = Throttle::default();
        } else {
            throttle.failures = throttle.failures.saturating_add(1);
            let delay = match throttle.failures {
                0 | 1 => Duration::ZERO,
                n => Duration::from_secs(1u64 << (n - 2).min(6)).min(MAX_UNLOCK_DELAY),
            };
            throttle.not_before = Some(now + delay);
        }
    }
}

/// Whether the connection and the `Host` name this machine, and nothing
/// says the request was forwarded from elsewhere.
pub fn from_this_machine(headers: &HeaderMap, peer: SocketAddr) -> bool {
    if !peer.ip().to_canonical().is_loopback() {
        return false;
    }
    if FORWARDING.iter().any(|h| headers.contains_key(*h)) {
        return false;
    }
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.split(':').next().unwrap_or(""),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether the request brings the console's access key: in its cookie, or
/// as `Authorization: Bearer <key>` (for scripts reading `/status`).
pub(super) fn brings_key(console: &Console, headers: &HeaderMap) -> bool {
    let cookies = super::super::cookies(headers);
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "));
    super::super::cookie(&cookies, ACCESS)
        .into_iter()
        .chain(bearer)
        .any(|k| csrf::same(k.trim().as_bytes(), console.access.as_bytes()))
}

/// The operator on this machine: loopback, a loopback name, no forwarding,
/// and the access key. What the console, `/status` and the peers on
/// `/node` ask of every request.
pub(crate) fn trusted(state: &Web, headers: &HeaderMap, peer: SocketAddr) -> bool {
    from_this_machine(headers, peer) && brings_key(&state.web.console, headers)
}

/// The documenter's key when the console is open to this request.
pub(crate) fn signer(state: &Web, headers: &HeaderMap, peer: SocketAddr) -> Option<Keys> {
    if !trusted(state, headers, peer) {
        return None;
    }
    let cookies = super::super::cookies(headers);
    state
        .web
        .console
        .keys(super::super::cookie(&cookies, COOKIE))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(host: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static(host));
        h
    }

    #[test]
    fn only_this_machine_by_address_and_by_name_and_never_forwarded() {
        let local: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let lan: SocketAddr = "192.168.1.20:5000".parse().unwrap();
        assert!(from_this_machine(&headers("127.0.0.1:4848"), local));
        assert!(from_this_machine(&headers("localhost:4848"), local));
        assert!(from_this_machine(&headers("[::1]:4848"), local));
        assert!(!from_this_machine(&headers("127.0.0.1:4848"), lan));
        // A name that an attacker's DNS points at 127.0.0.1.
        assert!(!from_this_machine(&headers("evil.example:4848"), local));
        assert!(!from_this_machine(&HeaderMap::new(), local));
        // A local reverse proxy says where the request came from.
        for forwarded in FORWARDING {
            let mut h = headers("localhost:4848");
            h.insert(*forwarded, HeaderValue::from_static("203.0.113.9"));
            assert!(!from_this_machine(&h, local), "{forwarded}");
        }
    }

    #[test]
    fn the_access_key_is_asked_for() {
        let console = Console::new();
        let mut h = headers("localhost:4848");
        assert!(!brings_key(&console, &h));
        let cookie = format!("{ACCESS}={}", console.access_key());
        h.insert(header::COOKIE, HeaderValue::from_str(&cookie).unwrap());
        assert!(brings_key(&console, &h));
        let mut h = headers("localhost:4848");
        let bearer = format!("Bearer {}", console.access_key());
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&bearer).unwrap(),
        );
        assert!(brings_key(&console, &h));
        let mut h = headers("localhost:4848");
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("samizdat_access=guess"),
        );
        assert!(!brings_key(&console, &h));
        assert_ne!(Console::new().access_key(), console.access_key());
    }

    #[test]
    fn a_session_needs_its_cookie_and_ends_on_its_timer() {
        let console = Console::new();
        assert!(console.keys(None).is_none());
        let token = console.open(Keys::generate());
        assert!(console.keys(Some(&token)).is_some());
        assert!(console.keys(Some(&csrf::token())).is_none());
        assert!(console.keys(None).is_none());
        assert!(!console.expire(Instant::now()));
        assert!(console.expire(Instant::now() + IDLE + Duration::from_secs(1)));
        assert!(console.keys(Some(&token)).is_none());
        let token = console.open(Keys::generate());
        console.close();
        assert!(console.keys(Some(&token)).is_none());
    }

    #[test]
    fn wrong_passphrases_make_the_next_attempt_wait_longer() {
        let console = Console::new();
        let t = Instant::now();
        assert_eq!(console.wait(t), None);
        let mut waits = Vec::new();
        for i in 0..8 {
            console.attempted(false, t);
            waits.push(console.wait(t).map(|d| d.as_secs()));
            assert!(console.wait(t + MAX_UNLOCK_DELAY).is_none(), "attempt {i}");
        }
        assert_eq!(
            waits,
            [
                None,
                Some(1),
                Some(2),
                Some(4),
                Some(8),
                Some(16),
                Some(32),
                Some(60)
            ],
            "one retry at once, then doubling, then capped"
        );
        console.attempted(true, t);
        assert_eq!(console.wait(t), None);
    }
}
