//! A ZeroMQ REQ client (ZMTP 3.0, NULL mechanism) for vbmcd's control socket, so that managing
//! VirtualBMCs costs a loopback round trip instead of starting the `vbmc` Python CLI (~0.5 s of
//! CPU a call).

use crate::error::{Context, Error};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

fn greeting() -> [u8; 64] {
    let mut g = [0u8; 64];
    g[0] = 0xFF;
    g[9] = 0x7F;
    g[10] = 3; // version 3.0
    g[11] = 0;
    g[12..16].copy_from_slice(b"NULL");
    g
}

fn frame(flags: u8, body: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(body.len() + 9);
    if body.len() < 256 {
        f.push(flags);
        f.push(body.len() as u8);
    } else {
        f.push(flags | 0x02);
        f.extend_from_slice(&(body.len() as u64).to_be_bytes());
    }
    f.extend_from_slice(body);
    f
}

fn ready() -> Vec<u8> {
    let mut body = Vec::new();
    body.push(5);
    body.extend_from_slice(b"READY");
    body.push(11);
    body.extend_from_slice(b"Socket-Type");
    body.extend_from_slice(&3u32.to_be_bytes());
    body.extend_from_slice(b"REQ");
    frame(0x04, &body)
}

/// Reads one frame: (flags, body).
fn read_frame(s: &mut TcpStream) -> std::io::Result<(u8, Vec<u8>)> {
    let mut flag = [0u8; 1];
    s.read_exact(&mut flag)?;
    let len = if flag[0] & 0x02 != 0 {
        let mut l = [0u8; 8];
        s.read_exact(&mut l)?;
        u64::from_be_bytes(l) as usize
    } else {
        let mut l = [0u8; 1];
        s.read_exact(&mut l)?;
        l[0] as usize
    };
    if len > 64 << 20 {
        return Err(std::io::Error::other("frame too large"));
    }
    let mut body = vec![0u8; len];
    s.read_exact(&mut body)?;
    Ok((flag[0], body))
}

/// Sends `request` to a REP socket on 127.0.0.1:`port` and returns the JSON reply.
pub fn request(port: u16, request: &Value, timeout: Duration) -> Result<Value, Error> {
    let err = |e: std::io::Error| format!("vbmcd on 127.0.0.1:{port}: {e} (is vbmcd running?)");
    let mut s = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), timeout).map_err(err)?;
    s.set_read_timeout(Some(timeout)).map_err(err)?;
    s.set_write_timeout(Some(timeout)).map_err(err)?;
    s.set_nodelay(true).map_err(err)?;
    s.write_all(&greeting()).map_err(err)?;
    let mut peer = [0u8; 64];
    s.read_exact(&mut peer).map_err(err)?;
    if peer[0] != 0xFF || peer[9] != 0x7F || peer[10] < 3 {
        return Err(Error::failed(format!(
            "127.0.0.1:{port} does not speak ZMTP 3"
        )));
    }
    s.write_all(&ready()).map_err(err)?;
    // The server's READY (a command frame).
    loop {
        let (flags, _) = read_frame(&mut s).map_err(err)?;
        if flags & 0x04 != 0 {
            break;
        }
    }
    let body = request.to_string();
    let mut msg = frame(0x01, b""); // REQ's empty delimiter, more to come
    msg.extend(frame(0x00, body.as_bytes()));
    s.write_all(&msg).map_err(err)?;
    let mut parts = Vec::new();
    loop {
        let (flags, body) = read_frame(&mut s).map_err(err)?;
        if flags & 0x04 != 0 {
            continue;
        }
        parts.push(body);
        if flags & 0x01 == 0 {
            break;
        }
    }
    let data = parts
        .into_iter()
        .rfind(|p| !p.is_empty())
        .unwrap_or_default();
    serde_json::from_slice(&data).with_context(|| format!("vbmcd on 127.0.0.1:{port}: not JSON"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_and_greeting() {
        let g = greeting();
        assert_eq!((g[0], g[9], g[10]), (0xFF, 0x7F, 3));
        assert_eq!(&g[12..16], b"NULL");
        assert_eq!(frame(0, b"ab"), vec![0, 2, b'a', b'b']);
        let long = vec![7u8; 300];
        let f = frame(0, &long);
        assert_eq!(f[0], 0x02);
        assert_eq!(u64::from_be_bytes(f[1..9].try_into().unwrap()), 300);
        let r = ready();
        assert_eq!(r[0], 0x04);
        assert_eq!(&r[3..8], b"READY");
    }

    #[test]
    fn a_closed_port_is_an_error_naming_it() {
        let free = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let e = request(
            free,
            &serde_json::json!({"command": "list"}),
            Duration::from_millis(500),
        )
        .unwrap_err();
        assert!(e.message().contains(&format!("127.0.0.1:{free}")), "{e}");
    }
}
