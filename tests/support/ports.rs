//! Free ports on 127.0.0.1 for the servers a test starts.

/// A free UDP/TCP port on 127.0.0.1 above `from`.
pub fn free_port(from: u16) -> u16 {
    free_ports(from, 1)
}

/// The first of `n` consecutive ports, each free for UDP and TCP on 127.0.0.1, looked for from
/// a place of this test process's own (tests start BMCs at the same time).
pub fn free_ports(from: u16, n: u16) -> u16 {
    let start = from + (std::process::id() % 500) as u16;
    let free = |p: u16| {
        std::net::UdpSocket::bind(("127.0.0.1", p)).is_ok()
            && std::net::TcpListener::bind(("127.0.0.1", p)).is_ok()
    };
    (start..start + 2000)
        .find(|p| (*p..*p + n).all(free))
        .unwrap()
}
