//! What one hostile or broken client can do to everyone else: nothing.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::Node;
use crate::served::Served;

#[test]
fn slow_clients_do_not_keep_the_node_from_stopping() {
    let node = Node::start();
    let mut served = Served::start(&node, "");
    // Headers trickled and never finished; a form announced as 60 MB that
    // sends a few bytes; both left open.
    let mut headers = TcpStream::connect(served.addr).expect("connects");
    headers
        .write_all(b"GET /timeline HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .expect("writes");
    let mut form = TcpStream::connect(served.addr).expect("connects");
    form.write_all(
        b"POST /submit/testimony HTTP/1.1\r\nHost: 127.0.0.1\r\n\
          Content-Type: multipart/form-data; boundary=B\r\nContent-Length: 60000000\r\n\r\n--B\r\n",
    )
    .expect("writes");
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let status = served.stop(libc::SIGTERM);
    let took = started.elapsed();
    assert!(status.success(), "{status:?}");
    // It once waited for them for ever; now a few seconds at most.
    assert!(took < Duration::from_secs(10), "stopping took {took:?}");
    drop((headers, form));
}

#[test]
fn a_second_signal_stops_the_node_at_once() {
    let node = Node::start();
    let mut served = Served::start(&node, "");
    let mut slow = TcpStream::connect(served.addr).expect("connects");
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .expect("writes");
    std::thread::sleep(Duration::from_millis(200));
    // SAFETY: signals to our own child process.
    unsafe { libc::kill(served.child.id() as i32, libc::SIGTERM) };
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let status = served.stop(libc::SIGINT);
    assert!(started.elapsed() < Duration::from_secs(2), "{status:?}");
    drop(slow);
}
