//! `net`: IPv4 address and CIDR arithmetic for profiles and checks.

use crate::modules::cloud::api::in_cidr as contains;
use crate::modules::ocp::{overlaps as cidr_overlaps, parse_cidr};
use rhai::plugin::*;
use rhai::{Dynamic, EvalAltResult, NativeCallContext};
use std::net::Ipv4Addr;

#[export_module]
pub mod net_fns {
    /// Whether `s` is an IPv4 address.
    ///
    /// ```rhai
    /// assert(net::is_ipv4("172.16.0.254") && !net::is_ipv4("172.16.0.256"));
    /// ```
    pub fn is_ipv4(s: &str) -> bool {
        s.parse::<Ipv4Addr>().is_ok()
    }

    /// Whether `s` is an IPv4 CIDR such as "10.0.0.0/16".
    ///
    /// ```rhai
    /// assert(net::is_cidr("10.0.0.0/16") && !net::is_cidr("10.0.0.0"));
    /// ```
    pub fn is_cidr(s: &str) -> bool {
        parse_cidr(s).is_some()
    }

    /// Whether `addr` is inside `cidr`.
    ///
    /// ```rhai
    /// assert(net::contains("192.168.122.0/24", "192.168.122.164"));
    /// ```
    pub fn contains(cidr: &str, addr: &str) -> bool {
        super::contains(addr, cidr)
    }

    /// Whether two CIDRs share an address.
    ///
    /// ```rhai
    /// assert(!net::overlaps("172.16.0.0/24", "192.168.122.0/24"));
    /// ```
    pub fn overlaps(a: &str, b: &str) -> bool {
        cidr_overlaps(a, b)
    }

    /// The network of an address and netmask, as a CIDR.
    ///
    /// ```rhai
    /// assert_eq(net::cidr("172.16.0.254", "255.255.255.0"), "172.16.0.0/24");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn cidr(
        ctx: NativeCallContext,
        address: &str,
        netmask: &str,
    ) -> Result<String, Box<EvalAltResult>> {
        let (Ok(a), Ok(m)) = (address.parse::<Ipv4Addr>(), netmask.parse::<Ipv4Addr>()) else {
            return Err(crate::session::rt_err(
                &ctx,
                format!("net::cidr: {address:?} / {netmask:?} is not an address and a netmask"),
            ));
        };
        let m = u32::from(m);
        if m.leading_ones() + m.trailing_zeros() != 32 {
            return Err(crate::session::rt_err(
                &ctx,
                format!("net::cidr: {netmask} is not a netmask"),
            ));
        }
        Ok(format!(
            "{}/{}",
            Ipv4Addr::from(u32::from(a) & m),
            m.leading_ones()
        ))
    }

    /// The `n`th address of a CIDR (0 is the network address), or `()` when out of range.
    ///
    /// ```rhai
    /// assert_eq(net::host("172.16.0.0/24", 1), "172.16.0.1");
    /// ```
    pub fn host(cidr: &str, n: i64) -> Dynamic {
        match parse_cidr(cidr) {
            Some((a, len)) if n >= 0 && (n as u64) < (1u64 << (32 - len)) => {
                let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
                Ipv4Addr::from((a & mask).wrapping_add(n as u32))
                    .to_string()
                    .into()
            }
            _ => Dynamic::UNIT,
        }
    }
}
