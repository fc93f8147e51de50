//! Ports: one per MAC of a node, a MAC that is another node's refused.

use super::super::api::Collection;
use super::{is_mac, q};
use crate::error::Error;
use crate::modules::cloud::api::Api;
use crate::modules::cloud::id::Id;
use serde_json::{json, Value};

const BM_PORTS: Collection = Collection::new("baremetal", "port", "/ports", "ports", "");

impl<'a> Api<'a> {
    /// Every port, or a node's.
    pub fn bm_ports(&self, node: Option<&Id>) -> Result<Vec<Value>, Error> {
        let path = match node {
            Some(n) => {
                let Some(found) = self.bm_node(n)? else {
                    return Ok(vec![]);
                };
                format!(
                    "/ports/detail?limit=1000&node_uuid={}",
                    q(found["uuid"].as_str().unwrap_or_default())
                )
            }
            None => "/ports/detail?limit=1000".into(),
        };
        self.read("ports", |c| c.list("baremetal", &path, "ports"), vec![])
    }

    pub(super) fn bm_port_create(&self, name: &str, uuid: &Id, mac: &str) -> Result<Value, Error> {
        let body = json!({"address": mac, "node_uuid": uuid, "pxe_enabled": true});
        if uuid.is_planned() || self.fx.is_plan() || self.live().is_none() {
            return self.fx.change(
                self.bm_op("port.create", &format!("{name} {mac}")),
                || Err(self.only_planned()),
                || json!({"address": mac, "node_uuid": uuid, "planned": true}),
            );
        }
        let list_path = format!("/ports/detail?address={}", q(mac));
        let op = self.bm_op("port.create", &format!("{name} {mac}"));
        let planned = json!({"address": mac});
        self.create_listed(op, &BM_PORTS, mac, &list_path, body, planned)
    }

    /// Ensures a port with `mac` on node `ident`; a port with this MAC on another node is an error.
    pub fn bm_port_ensure(&self, ident: &Id, mac: &str) -> Result<Value, Error> {
        let mac = mac.to_ascii_lowercase();
        if !is_mac(&mac) {
            return Err(Error::invalid(format!(
                "{mac:?} is not a MAC address (52:54:00:aa:bb:cc)"
            )));
        }
        let node = self.bm_node(ident)?;
        let uuid = match &node {
            Some(n) => Id::from_json(&n["uuid"]),
            None if self.fx.is_plan() => Id::planned("node", &ident.to_string()),
            None => {
                return Err(Error::not_found(format!(
                    "no node '{ident}' in cloud '{}'",
                    self.conn.name()
                )))
            }
        };
        let found = self
            .read(
                &mac,
                |c| {
                    c.list(
                        "baremetal",
                        &format!("/ports/detail?address={}", q(&mac)),
                        "ports",
                    )
                },
                vec![],
            )?
            .into_iter()
            .next();
        if let Some(p) = found {
            if p["node_uuid"] != uuid.to_string() {
                return Err(Error::conflict(format!(
                    "MAC {mac} is already a port of node {}",
                    p["node_uuid"].as_str().unwrap_or("?")
                )));
            }
            self.fx
                .unchanged(self.bm_op("port.ensure", &format!("{ident} {mac}")));
            return Ok(p);
        }
        self.bm_port_create(&ident.to_string(), &uuid, &mac)
    }
}
