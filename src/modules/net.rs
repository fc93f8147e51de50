//! `net`: IPv4 address and CIDR arithmetic for profiles and checks.

use crate::session::Res;
use crate::util::cidr;
use rhai::plugin::*;
use rhai::{Dynamic, NativeCallContext};
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
        super::cidr::parse_cidr(s).is_some()
    }

    /// Whether `addr` is inside `cidr`.
    ///
    /// ```rhai
    /// assert(net::contains("192.168.122.0/24", "192.168.122.164"));
    /// ```
    pub fn contains(cidr: &str, addr: &str) -> bool {
        super::cidr::contains(cidr, addr)
    }

    /// Whether two CIDRs share an address.
    ///
    /// ```rhai
    /// assert(!net::overlaps("172.16.0.0/24", "192.168.122.0/24"));
    /// ```
    pub fn overlaps(a: &str, b: &str) -> bool {
        super::cidr::overlaps(a, b)
    }

    /// The network of an address and netmask, as a CIDR.
    ///
    /// ```rhai
    /// assert_eq(net::cidr("172.16.0.254", "255.255.255.0"), "172.16.0.0/24");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn cidr(ctx: NativeCallContext, address: &str, netmask: &str) -> Res<String> {
        super::cidr::of_netmask(address, netmask)
            .map_err(|e| crate::session::rt_err(&ctx, e.context("net::cidr")))
    }

    /// The `n`th address of a CIDR (0 is the network address), or `()` when out of range.
    ///
    /// ```rhai
    /// assert_eq(net::host("172.16.0.0/24", 1), "172.16.0.1");
    /// ```
    pub fn host(cidr: &str, n: i64) -> Dynamic {
        match super::cidr::host(cidr, n) {
            Some(a) => a.to_string().into(),
            None => Dynamic::UNIT,
        }
    }
}
