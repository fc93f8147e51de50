//! IPv4 addresses and CIDRs: parsing, membership, overlaps, netmasks, the nth address.

use crate::error::Error;
use std::net::Ipv4Addr;

/// An IPv4 network as written ("10.0.0.0/16"): (address, prefix length). The address need not
/// be the network's first.
pub fn parse_cidr(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.split_once('/')?;
    let a: Ipv4Addr = a.trim().parse().ok()?;
    let b: u32 = b.trim().parse().ok()?;
    (b <= 32).then_some((u32::from(a), b))
}

/// The netmask of a prefix length.
fn mask(len: u32) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - len)
    }
}

/// The first and last address of a network.
fn range(c: (u32, u32)) -> (u64, u64) {
    let start = (c.0 & mask(c.1)) as u64;
    (start, start + (1u64 << (32 - c.1)) - 1)
}

/// Whether two CIDRs share an address (false when either is not a CIDR).
pub fn overlaps(a: &str, b: &str) -> bool {
    match (parse_cidr(a), parse_cidr(b)) {
        (Some(x), Some(y)) => {
            let (a0, a1) = range(x);
            let (b0, b1) = range(y);
            a0 <= b1 && b0 <= a1
        }
        _ => false,
    }
}

/// Whether the address `addr` is inside `cidr` (false when either is not what it should be).
pub fn contains(cidr: &str, addr: &str) -> bool {
    let (Some((net, len)), Ok(a)) = (parse_cidr(cidr), addr.parse::<Ipv4Addr>()) else {
        return false;
    };
    (u32::from(a) & mask(len)) == (net & mask(len))
}

/// The network of an address and a netmask, as a CIDR ("172.16.0.0/24"). Errors say which of
/// the two is wrong.
pub fn of_netmask(address: &str, netmask: &str) -> Result<String, Error> {
    let (Ok(a), Ok(m)) = (address.parse::<Ipv4Addr>(), netmask.parse::<Ipv4Addr>()) else {
        return Err(Error::invalid(format!(
            "{address:?} / {netmask:?} is not an address and a netmask"
        )));
    };
    let m = u32::from(m);
    if m.leading_ones() + m.trailing_zeros() != 32 {
        return Err(Error::invalid(format!("{netmask} is not a netmask")));
    }
    Ok(format!(
        "{}/{}",
        Ipv4Addr::from(u32::from(a) & m),
        m.leading_ones()
    ))
}

/// The `n`th address of a CIDR (0 is the network address), or `None` when it is out of range
/// or `cidr` is not a CIDR.
pub fn host(cidr: &str, n: i64) -> Option<Ipv4Addr> {
    let (a, len) = parse_cidr(cidr)?;
    (n >= 0 && (n as u64) < (1u64 << (32 - len)))
        .then(|| Ipv4Addr::from((a & mask(len)).wrapping_add(n as u32)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership_and_overlaps() {
        for (net, addr, want) in [
            ("192.168.122.0/24", "192.168.122.164", true),
            ("192.168.122.0/24", "192.168.123.1", false),
            ("0.0.0.0/0", "10.1.2.3", true),
            ("10.0.0.0/8", "x", false),
            ("10.0.0.0/33", "10.0.0.1", false),
            ("10.0.0.0", "10.0.0.1", false),
        ] {
            assert_eq!(contains(net, addr), want, "contains({net}, {addr})");
        }
        for (a, b, want) in [
            ("10.128.0.0/14", "10.130.0.0/16", true),
            ("10.128.0.0/14", "10.0.0.0/16", false),
            ("0.0.0.0/0", "1.2.3.4/32", true),
            ("x", "1.2.3.4/32", false),
        ] {
            assert_eq!(overlaps(a, b), want, "overlaps({a}, {b})");
        }
    }

    #[test]
    fn netmasks_and_hosts() {
        assert_eq!(
            of_netmask("172.16.0.254", "255.255.255.0").unwrap(),
            "172.16.0.0/24"
        );
        assert!(of_netmask("172.16.0.254", "255.0.255.0")
            .unwrap_err()
            .message()
            .contains("not a netmask"));
        assert_eq!(host("172.16.0.0/24", 1), Some(Ipv4Addr::new(172, 16, 0, 1)));
        assert_eq!(host("172.16.0.0/24", 256), None);
        assert_eq!(host("0.0.0.0/0", 0), Some(Ipv4Addr::new(0, 0, 0, 0)));
        assert_eq!(host("10.0.0.0/8", -1), None);
    }
}
