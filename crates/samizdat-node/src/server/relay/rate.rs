//! Token buckets: per connection, and per IP address across connections.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

/// Allows `rate` actions per second on average and bursts of `2 × rate`.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    tokens: f64,
    rate: f64,
    burst: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn new(rate: u32, now: Instant) -> TokenBucket {
        let rate = f64::from(rate);
        TokenBucket::with(rate, rate * 2.0, now)
    }

    /// `rate` actions per second on average, bursts of `burst`.
    pub fn with(rate: f64, burst: f64, now: Instant) -> TokenBucket {
        TokenBucket {
            tokens: burst,
            rate,
            burst,
            last: now,
        }
    }

    /// Takes one token if there is one.
    pub fn take(&mut self, now: Instant) -> bool {
        self.take_n(1.0, now)
    }

    /// Takes `n` tokens if there are that many (bytes, say).
    pub fn take_n(&mut self, n: f64, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= n {
            self.tokens -= n;
            true
        } else {
            false
        }
    }

    fn is_full(&self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens + elapsed * self.rate >= self.burst
    }
}

/// One bucket per IP address. Buckets that have refilled are forgotten when
/// the map grows, so a scan of many addresses costs bounded memory.
pub struct PerIp {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, TokenBucket>>,
}

/// Addresses remembered before full buckets are pruned.
const PRUNE_AT: usize = 10_000;

impl PerIp {
    pub fn new(rate: u32) -> PerIp {
        PerIp::with(f64::from(rate), f64::from(rate) * 2.0)
    }

    /// `rate` actions per second on average per address, bursts of `burst`.
    pub fn with(rate: f64, burst: f64) -> PerIp {
        PerIp {
            rate,
            burst,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    pub fn take(&self, ip: IpAddr, now: Instant) -> bool {
        self.take_n(ip, 1.0, now)
    }

    /// Takes `n` of `ip`'s tokens if it has that many.
    pub fn take_n(&self, ip: IpAddr, n: f64, now: Instant) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= PRUNE_AT {
            buckets.retain(|_, b| !b.is_full(now));
        }
        buckets
            .entry(ip)
            .or_insert_with(|| TokenBucket::with(self.rate, self.burst, now))
            .take_n(n, now)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn bursts_then_refills() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(10, t0);
        assert_eq!((0..25).filter(|_| b.take(t0)).count(), 20);
        assert!(!b.take(t0));
        assert!(b.take(t0 + Duration::from_millis(150)));
    }

    #[test]
    fn addresses_have_their_own_buckets() {
        let t0 = Instant::now();
        let per_ip = PerIp::new(1);
        let a: IpAddr = [127, 0, 0, 1].into();
        let b: IpAddr = [127, 0, 0, 2].into();
        assert!(per_ip.take(a, t0) && per_ip.take(a, t0));
        assert!(!per_ip.take(a, t0));
        assert!(per_ip.take(b, t0));
    }

    #[test]
    fn byte_budgets_take_what_they_spend() {
        let t0 = Instant::now();
        // 1,000 bytes an hour.
        let per_ip = PerIp::with(1000.0 / 3600.0, 1000.0);
        let a: IpAddr = [127, 0, 0, 1].into();
        assert!(per_ip.take_n(a, 600.0, t0));
        assert!(!per_ip.take_n(a, 600.0, t0), "only 400 left");
        assert!(per_ip.take_n(a, 400.0, t0));
        assert!(per_ip.take_n(a, 500.0, t0 + Duration::from_secs(1800)));
    }

    #[test]
    fn slow_rates_keep_their_burst() {
        let t0 = Instant::now();
        // Three an hour.
        let per_ip = PerIp::with(3.0 / 3600.0, 3.0);
        let a: IpAddr = [127, 0, 0, 1].into();
        assert_eq!((0..5).filter(|_| per_ip.take(a, t0)).count(), 3);
        assert!(!per_ip.take(a, t0 + Duration::from_secs(600)));
        assert!(per_ip.take(a, t0 + Duration::from_secs(1200)));
    }
}
