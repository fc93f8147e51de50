#!/usr/bin/env bash
# The devcloud: Keystone, Nova API with Placement, Neutron, Glance, Swift and Ironic from PyPI,
# on 127.0.0.1 with sqlite, no containers. Stopped by PID.
#
#   tests/harness/devcloud.sh start    # install (once), initialise (once), start, register
#   tests/harness/devcloud.sh stop
#   tests/harness/devcloud.sh env      # prints the clouds.yaml path to use (OS_CLIENT_CONFIG_FILE)
#   tests/harness/devcloud.sh install  # only the venv
#   tests/harness/devcloud.sh reset    # stop and forget every database and file
#
# State lives in $LABSH_DEVCLOUD (default ~/.cache/labsh/devcloud): configs, sqlite databases,
# image and object data, logs, pids. The venv ($LABSH_DEVCLOUD_VENV) and the initialised
# databases are kept, so a restart takes seconds. Ports: keystone 5000, nova 8774, placement 8778,
# neutron 9696, glance 9292, swift proxy 8080 (account/container/object 6202/6201/6200), ironic
# 6385 (API and conductor in one process, no message queue, hardware types ipmi and redfish; its
# own venv $LABSH_DEVCLOUD_IRONIC_VENV, since its dependencies are not the other services').
# clouds.yaml names two clouds: `devcloud` (the admin project) and `devcloud-system` (the same
# admin with a system-scoped token, which Ironic's default policy wants for node administration).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
D="${LABSH_DEVCLOUD:-$HOME/.cache/labsh/devcloud}"
VENV="${LABSH_DEVCLOUD_VENV:-$HOME/.cache/labsh/venv-devcloud}"
IRONIC_VENV="${LABSH_DEVCLOUD_IRONIC_VENV:-$HOME/.cache/labsh/venv-ironic}"
ADMIN_PW="${LABSH_DEVCLOUD_ADMIN_PASSWORD:-devcloud-admin-pw}"
SERVICE_PW="devcloud-service-pw"
H=127.0.0.1
PY="$VENV/bin/python"
cmd="${1:-}"

log() { echo "devcloud: $*" >&2; }

install() {
  local want; want="$(sha256sum "$root/tools/devcloud-constraints.txt" | cut -c1-16)"
  if [ -f "$VENV/.labsh-installed" ] && [ "$(cat "$VENV/.labsh-installed")" = "$want" ]; then return; fi
  log "installing the OpenStack services into $VENV (about a minute)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -c "$root/tools/devcloud-constraints.txt" \
    keystone nova openstack-placement neutron glance swift gunicorn
  echo "$want" > "$VENV/.labsh-installed"
}

install_ironic() {
  local want; want="$(sha256sum "$root/tools/devcloud-constraints.txt" | cut -c1-16)"
  if [ -f "$IRONIC_VENV/.labsh-installed" ] && [ "$(cat "$IRONIC_VENV/.labsh-installed")" = "$want" ]; then return; fi
  log "installing Ironic into $IRONIC_VENV (about a minute)"
  python3 -m venv "$IRONIC_VENV"
  # The ipmi hardware type runs Debian's ipmitool (tools/setup-tests.sh); redfish needs sushy, a dependency.
  "$IRONIC_VENV/bin/pip" install -q --disable-pip-version-check -c "$root/tools/devcloud-constraints.txt" ironic
  echo "$want" > "$IRONIC_VENV/.labsh-installed"
}

service_user() { # user auth_url: the lines that authenticate as a service user
  cat <<EOT
auth_url = $2
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = $1
password = $SERVICE_PW
EOT
}

authtoken() { # service user
  cat <<EOT
[keystone_authtoken]
www_authenticate_uri = http://$H:5000
$(service_user "$1" "http://$H:5000")
service_token_roles_required = false
EOT
}

configure() {
  mkdir -p "$D"/{etc/ironic,etc/keystone,etc/nova,etc/placement,etc/neutron/plugins/ml2,etc/glance,etc/swift,db,wsgi,log,run,glance/images,glance/staging,glance/tasks,swift/node/sdb1,lock}
  cat > "$D/etc/keystone/keystone.conf" <<EOT
[DEFAULT]
log_file = $D/log/keystone.log
[database]
connection = sqlite:///$D/db/keystone.sqlite
[token]
provider = fernet
[fernet_tokens]
key_repository = $D/etc/keystone/fernet-keys
[fernet_receipts]
key_repository = $D/etc/keystone/fernet-keys
[credential]
key_repository = $D/etc/keystone/credential-keys
[identity]
password_hash_rounds = 4
[cache]
enabled = true
backend = dogpile.cache.memory
EOT
  cat > "$D/etc/placement/placement.conf" <<EOT
[DEFAULT]
log_file = $D/log/placement.log
[placement_database]
connection = sqlite:///$D/db/placement.sqlite
[api]
auth_strategy = keystone
$(authtoken placement)
EOT
  cp "$VENV/etc/nova/api-paste.ini" "$D/etc/nova/api-paste.ini"
  cat > "$D/etc/nova/nova.conf" <<EOT
[DEFAULT]
log_file = $D/log/nova.log
transport_url = fake://
state_path = $D/nova
[api]
auth_strategy = keystone
[wsgi]
api_paste_config = $D/etc/nova/api-paste.ini
[api_database]
connection = sqlite:///$D/db/nova_api.sqlite
[database]
connection = sqlite:///$D/db/nova_cell1.sqlite
[oslo_concurrency]
lock_path = $D/lock
[neutron]
$(service_user neutron "http://$H:5000/v3")
region_name = regionOne
[glance]
region_name = regionOne
[placement]
$(service_user placement "http://$H:5000/v3")
$(authtoken nova)
EOT
  cp "$VENV/etc/neutron/api-paste.ini" "$D/etc/neutron/api-paste.ini"
  cat > "$D/etc/neutron/neutron.conf" <<EOT
[DEFAULT]
log_file = $D/log/neutron.log
core_plugin = ml2
service_plugins = router
auth_strategy = keystone
transport_url = fake://
api_paste_config = $D/etc/neutron/api-paste.ini
notify_nova_on_port_status_changes = false
notify_nova_on_port_data_changes = false
state_path = $D/neutron
[database]
connection = sqlite:///$D/db/neutron.sqlite
[oslo_concurrency]
lock_path = $D/lock
[securitygroup]
firewall_driver = noop
$(authtoken neutron)
EOT
  cat > "$D/etc/neutron/plugins/ml2/ml2_conf.ini" <<EOT
[ml2]
type_drivers = flat,vlan,vxlan
tenant_network_types = vxlan
mechanism_drivers = openvswitch
extension_drivers = port_security
[ml2_type_flat]
flat_networks = *
[ml2_type_vxlan]
vni_ranges = 1:1000
[ml2_type_vlan]
network_vlan_ranges = datacentre:100:109
[securitygroup]
firewall_driver = noop
EOT
  cp "$VENV/etc/glance/glance-api-paste.ini" "$D/etc/glance/glance-api-paste.ini"
  cat > "$D/etc/glance/glance-api.conf" <<EOT
[DEFAULT]
log_file = $D/log/glance.log
enabled_backends = fs:file
[database]
connection = sqlite:///$D/db/glance.sqlite
[glance_store]
default_backend = fs
[fs]
filesystem_store_datadir = $D/glance/images
[os_glance_staging_store]
filesystem_store_datadir = $D/glance/staging
[os_glance_tasks_store]
filesystem_store_datadir = $D/glance/tasks
[paste_deploy]
flavor = keystone
config_file = $D/etc/glance/glance-api-paste.ini
[oslo_concurrency]
lock_path = $D/lock
$(authtoken glance)
EOT
  cat > "$D/etc/swift/swift.conf" <<EOT
[swift-hash]
swift_hash_path_suffix = labsh-devcloud
[storage-policy:0]
name = Policy-0
default = yes
EOT
  local port kind
  for kind in object:6200 container:6201 account:6202; do
    port="${kind#*:}"; kind="${kind%%:*}"
    cat > "$D/etc/swift/$kind-server.conf" <<EOT
[DEFAULT]
bind_ip = $H
bind_port = $port
devices = $D/swift/node
mount_check = false
swift_dir = $D/etc/swift
workers = 0
log_name = $kind-server
[pipeline:main]
pipeline = $kind-server
[app:$kind-server]
use = egg:swift#$kind
EOT
  done
  cat > "$D/etc/swift/proxy-server.conf" <<EOT
[DEFAULT]
bind_ip = $H
bind_port = 8080
swift_dir = $D/etc/swift
workers = 0
[pipeline:main]
pipeline = catch_errors proxy-logging authtoken keystoneauth tempurl proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:tempurl]
use = egg:swift#tempurl
[filter:keystoneauth]
use = egg:swift#keystoneauth
operator_roles = admin, member, swiftoperator
[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
delay_auth_decision = true
www_authenticate_uri = http://$H:5000
$(service_user swift "http://$H:5000")
EOT
  mkdir -p "$D/ironic"/{tftpboot/master_images,images,master_images,httpboot,lock,tmp}
  cat > "$D/etc/ironic/ironic.conf" <<EOT
# Ironic 39 all in one (\`ironic\`: API and conductor in one process), sqlite, no message queue.
[DEFAULT]
host = devcloud-conductor
auth_strategy = keystone
# the ironic service user (role service in project service) may act on every node
rbac_service_role_elevated_access = true
# the API calls the conductor in the same process (json-rpc would add a listener, oslo a queue)
rpc_transport = none
state_path = $D/ironic
tempdir = $D/ironic/tmp
log_file = $D/log/ironic.log
debug = false
enabled_hardware_types = ipmi,redfish
enabled_power_interfaces = ipmitool,redfish
enabled_management_interfaces = ipmitool,redfish
# neither ipmi nor redfish accepts boot or deploy "fake"; pxe and direct load without TFTP or HTTP
# servers and are only checked when a node is deployed, which the devcloud never does
enabled_boot_interfaces = pxe,redfish-virtual-media
enabled_deploy_interfaces = direct,ramdisk
# redfish: out-of-band inspection from the BMC; agent: in-band, which needs a PXE network
enabled_inspect_interfaces = redfish,agent,no-inspect
default_inspect_interface = no-inspect
enabled_network_interfaces = noop
default_network_interface = noop
enabled_raid_interfaces = no-raid
enabled_bios_interfaces = no-bios
enabled_vendor_interfaces = ipmitool,redfish,no-vendor
enabled_console_interfaces = no-console
enabled_rescue_interfaces = no-rescue
enabled_storage_interfaces = noop
enabled_firmware_interfaces = no-firmware
[api]
host_ip = $H
port = 6385
[database]
connection = sqlite:///$D/db/ironic.sqlite
[conductor]
# provide goes manageable -> available at once: no cleaning (it would need a ramdisk)
automated_clean = false
# a node whose BMC stops answering is put in maintenance at its 4th failed power sync in a row
# (power_state_sync_max_retries, 3), each failed sync also waiting out command_retry_timeout below:
# about a minute and a half after it stopped (the snapshot repair test waits for it); a BMC back within a
# minute (a test re-adding one) is never noticed
sync_power_state_interval = 15
# every node's sync at once (the default, 8, lets a few BMCs that do not answer hold up the rest)
sync_power_state_workers = 32
[redfish]
# a Redfish BMC that does not answer (a test's emulator gone) is given up on at the first attempt:
# sushy already tries each request 10 times, 3 s apart, and the default 5 attempts 4 s apart held
# a power sync worker for over two minutes per node
connection_attempts = 1
connection_retry_interval = 1
[ipmi]
# seconds between two ipmitool commands to one BMC (default 5; an integer, and 0 divides by zero)
min_command_interval = 1
# give up on a BMC that does not answer (or refuses the password) after 10 s, not 60
command_retry_timeout = 10
[pxe]
tftp_root = $D/ironic/tftpboot
tftp_master_path = $D/ironic/tftpboot/master_images
images_path = $D/ironic/images
instance_master_path = $D/ironic/master_images
[deploy]
http_root = $D/ironic/httpboot
http_url = http://$H:6386
[inventory]
# inspection data kept in the database (no Swift needed)
data_backend = database
[inspector]
require_managed_boot = false
add_ports = all
hooks = \$default_hooks,memory,cpus,root-device
power_off = true
[dhcp]
dhcp_provider = none
[oslo_concurrency]
lock_path = $D/ironic/lock
$(authtoken ironic)
EOT
  for app in keystone:keystone.wsgi.api nova:nova.wsgi.osapi_compute placement:placement.wsgi.api neutron:neutron.wsgi.api glance:glance.wsgi.api; do
    printf 'import sys\nsys.argv = sys.argv[:1]\nfrom %s import application  # noqa\n' "${app#*:}" > "$D/wsgi/${app%%:*}_app.py"
  done
}

initialise() {
  [ -f "$D/db/.initialised" ] && return
  log "initialising the databases (once)"
  rm -f "$D"/db/*.sqlite
  local KS="OS_KEYSTONE_CONFIG_DIR=$D/etc/keystone"
  local kc=(--config-file "$D/etc/keystone/keystone.conf")
  "$VENV/bin/keystone-manage" "${kc[@]}" db_sync
  "$VENV/bin/keystone-manage" "${kc[@]}" fernet_setup --keystone-user root --keystone-group root
  "$VENV/bin/keystone-manage" "${kc[@]}" credential_setup --keystone-user root --keystone-group root
  "$VENV/bin/keystone-manage" "${kc[@]}" bootstrap --bootstrap-password "$ADMIN_PW" \
    --bootstrap-admin-url "http://$H:5000/v3/" --bootstrap-public-url "http://$H:5000/v3/" \
    --bootstrap-internal-url "http://$H:5000/v3/" --bootstrap-region-id regionOne
  : "$KS"
  "$VENV/bin/placement-manage" --config-file "$D/etc/placement/placement.conf" db sync
  local nc=(--config-file "$D/etc/nova/nova.conf")
  "$VENV/bin/nova-manage" "${nc[@]}" api_db sync
  "$VENV/bin/nova-manage" "${nc[@]}" cell_v2 map_cell0 --database_connection "sqlite:///$D/db/nova_cell0.sqlite"
  "$VENV/bin/nova-manage" "${nc[@]}" db sync
  "$VENV/bin/nova-manage" "${nc[@]}" cell_v2 create_cell --name cell1 --database_connection "sqlite:///$D/db/nova_cell1.sqlite" --transport-url fake://
  "$PY" - "$D" <<'PYEOF'
import sys
from oslo_config import cfg
from neutron.db.migration.models import head
import sqlalchemy
d = sys.argv[1]
engine = sqlalchemy.create_engine("sqlite:///%s/db/neutron.sqlite" % d)
head.get_metadata().create_all(engine)
PYEOF
  "$VENV/bin/neutron-db-manage" --config-file "$D/etc/neutron/neutron.conf" --config-file "$D/etc/neutron/plugins/ml2/ml2_conf.ini" stamp heads
  "$VENV/bin/glance-manage" --config-file "$D/etc/glance/glance-api.conf" db_sync
  (cd "$D/etc/swift"
   for r in object container account; do
     rm -f "$r.builder" "$r.ring.gz"
     "$VENV/bin/swift-ring-builder" "$r.builder" create 8 1 1 >/dev/null
   done
   "$VENV/bin/swift-ring-builder" object.builder add r1z1-$H:6200/sdb1 100 >/dev/null
   "$VENV/bin/swift-ring-builder" container.builder add r1z1-$H:6201/sdb1 100 >/dev/null
   "$VENV/bin/swift-ring-builder" account.builder add r1z1-$H:6202/sdb1 100 >/dev/null
   for r in object container account; do "$VENV/bin/swift-ring-builder" "$r.builder" rebalance >/dev/null || true; done)
  touch "$D/db/.initialised"
}

# Ironic's schema, once (kept apart from the others' marker, so a devcloud made before Ironic
# was part of it gets it too). create_schema, not upgrade: the upgrade path fails on sqlite.
initialise_ironic() {
  [ -f "$D/db/.ironic-initialised" ] && return
  log "initialising Ironic's database (once)"
  rm -f "$D/db/ironic.sqlite"
  PYTHONWARNINGS=ignore "$IRONIC_VENV/bin/ironic-dbsync" --config-file "$D/etc/ironic/ironic.conf" create_schema >>"$D/log/ironic-dbsync.out" 2>&1
  touch "$D/db/.ironic-initialised"
}

alive() { [ -f "$D/run/$1.pid" ] && kill -0 "$(cat "$D/run/$1.pid")" 2>/dev/null; }

spawn() { # name, env assignments..., -- command...
  local name="$1"; shift
  alive "$name" && return
  local envs=()
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  # 9>&-: the services must not inherit (and hold) the start lock.
  env "${envs[@]}" setsid "$@" >>"$D/log/$name.out" 2>&1 < /dev/null 9>&- &
  echo $! > "$D/run/$name.pid"
}

gunicorn() { # name port envvar confdir
  spawn "$1" PYTHONPATH="$D/wsgi" "$3=$4" -- "$VENV/bin/gunicorn" --bind "$H:$2" --workers 1 --threads 1 \
    --timeout 300 --access-logfile /dev/null "$1_app:application"
}

wait_port() { # port name
  local i
  for i in $(seq 1 300); do
    if (exec 3<>"/dev/tcp/$H/$1") 2>/dev/null; then return 0; fi
    if ! alive "$2"; then log "$2 exited; its log:"; tail -30 "$D/log/$2.out" >&2; return 1; fi
    sleep 0.2
  done
  log "$2 did not listen on $1"; tail -30 "$D/log/$2.out" >&2; return 1
}

# An admin token and a tiny JSON helper on the venv's python, for registration.
api() { # method url [json]
  "$PY" - "$@" <<'PYEOF'
import json, sys, urllib.request, os
m, url = sys.argv[1], sys.argv[2]
data = sys.argv[3].encode() if len(sys.argv) > 3 else None
req = urllib.request.Request(url, data=data, method=m)
req.add_header("Content-Type", "application/json")
tok = os.environ.get("TOKEN")
if tok: req.add_header("X-Auth-Token", tok)
try:
    with urllib.request.urlopen(req) as r:
        if m == "POST" and url.endswith("/auth/tokens"):
            print(r.headers["X-Subject-Token"])
        else:
            print(r.read().decode() or "{}")
except urllib.error.HTTPError as e:
    if e.code == 409: print("{}")
    else:
        sys.stderr.write("%s %s: %s %s\n" % (m, url, e.code, e.read().decode()[:300])); sys.exit(1)
PYEOF
}

jq_() { "$PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

register() {
  [ -f "$D/db/.registered" ] && return
  log "registering service users, the catalog and the external network (once)"
  export TOKEN
  TOKEN=$(api POST "http://$H:5000/v3/auth/tokens" "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"admin\",\"domain\":{\"id\":\"default\"},\"password\":\"$ADMIN_PW\"}}},\"scope\":{\"project\":{\"name\":\"admin\",\"domain\":{\"id\":\"default\"}}}}}")
  local K="http://$H:5000/v3"
  api POST "$K/projects" '{"project":{"name":"service","domain_id":"default"}}' >/dev/null
  local svc admin_role service_role
  svc=$(api GET "$K/projects?name=service" | jq_ 'd["projects"][0]["id"]')
  admin_role=$(api GET "$K/roles?name=admin" | jq_ 'd["roles"][0]["id"]')
  api POST "$K/roles" '{"role":{"name":"service"}}' >/dev/null
  api POST "$K/roles" '{"role":{"name":"swiftoperator"}}' >/dev/null
  service_role=$(api GET "$K/roles?name=service" | jq_ 'd["roles"][0]["id"]')
  local u uid
  for u in nova placement neutron glance swift; do
    api POST "$K/users" "{\"user\":{\"name\":\"$u\",\"domain_id\":\"default\",\"password\":\"$SERVICE_PW\"}}" >/dev/null
    uid=$(api GET "$K/users?name=$u" | jq_ 'd["users"][0]["id"]')
    api PUT "$K/projects/$svc/users/$uid/roles/$admin_role" >/dev/null
    api PUT "$K/projects/$svc/users/$uid/roles/$service_role" >/dev/null
  done
  local s t url sid iface
  for s in "nova compute http://$H:8774/v2.1" "placement placement http://$H:8778" \
           "neutron network http://$H:9696" "glance image http://$H:9292" \
           "swift object-store http://$H:8080/v1/AUTH_%(project_id)s"; do
    set -- $s
    api POST "$K/services" "{\"service\":{\"name\":\"$1\",\"type\":\"$2\"}}" >/dev/null
    sid=$(api GET "$K/services?type=$2" | jq_ 'd["services"][0]["id"]')
    for iface in public internal admin; do
      api POST "$K/endpoints" "{\"endpoint\":{\"service_id\":\"$sid\",\"interface\":\"$iface\",\"region_id\":\"regionOne\",\"url\":\"$3\"}}" >/dev/null
    done
  done
  touch "$D/db/.registered"
}

admin_token() { # scope: a JSON scope
  api POST "http://$H:5000/v3/auth/tokens" "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"admin\",\"domain\":{\"id\":\"default\"},\"password\":\"$ADMIN_PW\"}}},\"scope\":$1}}"
}

# Ironic's service user and its place in the catalog (once; apart from the others' marker).
register_ironic() {
  [ -f "$D/db/.registered-ironic" ] && return
  log "registering Ironic (once)"
  export TOKEN
  TOKEN=$(admin_token '{"project":{"name":"admin","domain":{"id":"default"}}}')
  local K="http://$H:5000/v3" svc admin_role service_role uid sid iface
  svc=$(api GET "$K/projects?name=service" | jq_ 'd["projects"][0]["id"]')
  admin_role=$(api GET "$K/roles?name=admin" | jq_ 'd["roles"][0]["id"]')
  service_role=$(api GET "$K/roles?name=service" | jq_ 'd["roles"][0]["id"]')
  api POST "$K/users" "{\"user\":{\"name\":\"ironic\",\"domain_id\":\"default\",\"password\":\"$SERVICE_PW\"}}" >/dev/null
  uid=$(api GET "$K/users?name=ironic" | jq_ 'd["users"][0]["id"]')
  api PUT "$K/projects/$svc/users/$uid/roles/$admin_role" >/dev/null
  api PUT "$K/projects/$svc/users/$uid/roles/$service_role" >/dev/null
  if [ "$(api GET "$K/services?type=baremetal" | jq_ 'len(d["services"])')" = 0 ]; then
    api POST "$K/services" '{"service":{"name":"ironic","type":"baremetal","description":"Bare Metal"}}' >/dev/null
  fi
  sid=$(api GET "$K/services?type=baremetal" | jq_ 'd["services"][0]["id"]')
  if [ "$(api GET "$K/endpoints?service_id=$sid" | jq_ 'len(d["endpoints"])')" = 0 ]; then
    for iface in public internal admin; do
      api POST "$K/endpoints" "{\"endpoint\":{\"service_id\":\"$sid\",\"interface\":\"$iface\",\"region_id\":\"regionOne\",\"url\":\"http://$H:6385\"}}" >/dev/null
    done
  fi
  touch "$D/db/.registered-ironic"
}

# Ironic is ready when its conductor has registered both hardware types.
wait_ironic() {
  local tok i
  tok=$(admin_token '{"system":{"all":true}}')
  for i in $(seq 1 600); do
    if TOKEN="$tok" api GET "http://$H:6385/v1/drivers" 2>/dev/null | grep -q '"redfish"'; then return 0; fi
    if ! alive ironic; then log "ironic exited; its log:"; tail -30 "$D/log/ironic.out" >&2; return 1; fi
    sleep 0.1
  done
  log "ironic's conductor did not register within 60 s"; tail -30 "$D/log/ironic.out" >&2; return 1
}

# The external network's subnet. Its allocation pools (what Neutron hands out unasked: router
# gateways, floating IPs without an address) leave out the addresses tests and the seed ask for by
# name (.160-.191, .230-.231), so that a test running beside another never finds its address
# taken by the other's router. A devcloud made with the older single pool is brought to these.
EXTERNAL_POOLS='[{"start":"192.168.122.192","end":"192.168.122.229"},{"start":"192.168.122.232","end":"192.168.122.250"}]'
external_network() {
  [ -f "$D/db/.external-pools-2" ] && return
  export TOKEN
  TOKEN=$(api POST "http://$H:5000/v3/auth/tokens" "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"admin\",\"domain\":{\"id\":\"default\"},\"password\":\"$ADMIN_PW\"}}},\"scope\":{\"project\":{\"name\":\"admin\",\"domain\":{\"id\":\"default\"}}}}}")
  local N="http://$H:9696/v2.0" nid sid
  nid=$(api GET "$N/networks?name=external" | jq_ 'd["networks"][0]["id"] if d["networks"] else ""')
  if [ -z "$nid" ]; then
    nid=$(api POST "$N/networks" '{"network":{"name":"external","router:external":true,"provider:network_type":"flat","provider:physical_network":"datacentre","shared":false}}' | jq_ 'd["network"]["id"]')
  fi
  sid=$(api GET "$N/subnets?network_id=$nid" | jq_ 'd["subnets"][0]["id"] if d["subnets"] else ""')
  if [ -z "$sid" ]; then
    api POST "$N/subnets" "{\"subnet\":{\"name\":\"external-subnet\",\"network_id\":\"$nid\",\"cidr\":\"192.168.122.0/24\",\"ip_version\":4,\"gateway_ip\":\"192.168.122.1\",\"enable_dhcp\":false,\"allocation_pools\":$EXTERNAL_POOLS}}" >/dev/null
  else
    api PUT "$N/subnets/$sid" "{\"subnet\":{\"allocation_pools\":$EXTERNAL_POOLS}}" >/dev/null
  fi
  touch "$D/db/.external-pools-2"
}

# Written aside and renamed over: every test's start comes here while other tests read the files.
write_clouds() {
  local mask
  mask=$(umask)
  umask 077
  cat > "$D/clouds.yaml.$$" <<EOT
clouds:
  devcloud:
    auth:
      auth_url: http://$H:5000/v3
      username: admin
      password: $ADMIN_PW
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    region_name: regionOne
    interface: public
    identity_api_version: 3
  devcloud-system:
    auth:
      auth_url: http://$H:5000/v3
      username: admin
      password: $ADMIN_PW
      user_domain_name: Default
      system_scope: all
    region_name: regionOne
    interface: public
    identity_api_version: 3
EOT
  mv -f "$D/clouds.yaml.$$" "$D/clouds.yaml"
  cat > "$D/adminrc.$$" <<EOT
export OS_AUTH_URL=http://$H:5000
export OS_USERNAME=admin
export OS_PASSWORD=$ADMIN_PW
export OS_PROJECT_NAME=admin
export OS_USER_DOMAIN_NAME=Default
export OS_PROJECT_DOMAIN_NAME=Default
export OS_REGION_NAME=regionOne
export OS_IDENTITY_API_VERSION=3
EOT
  mv -f "$D/adminrc.$$" "$D/adminrc"
  umask "$mask"
}

start() {
  install
  install_ironic
  configure
  initialise
  initialise_ironic
  local t0=$SECONDS
  gunicorn keystone 5000 OS_KEYSTONE_CONFIG_DIR "$D/etc/keystone"
  wait_port 5000 keystone
  register
  register_ironic
  # The ironic command forks a worker that holds the socket; both are in the process group the
  # PID file names. PYTHONWARNINGS: eventlet's deprecation warning at every start.
  # Ironic runs as released, unpatched. Its redfish driver spends ~0.85 s of CPU on each System
  # lookup (a pbkdf2 of the session cache key, several per power action); a launcher that
  # memoises it would make Redfish steps 2-10x faster, but the tests would then time an Ironic
  # nobody runs, and the Redfish phase of the node tests takes well under a minute without it.
  spawn ironic PYTHONWARNINGS=ignore -- "$IRONIC_VENV/bin/ironic" --config-file "$D/etc/ironic/ironic.conf"
  gunicorn placement 8778 OS_PLACEMENT_CONFIG_DIR "$D/etc/placement"
  gunicorn nova 8774 OS_NOVA_CONFIG_DIR "$D/etc/nova"
  spawn neutron PYTHONPATH="$D/wsgi" OS_NEUTRON_CONFIG_DIR="$D/etc/neutron" \
    OS_NEUTRON_CONFIG_FILES="neutron.conf;plugins/ml2/ml2_conf.ini" -- \
    "$VENV/bin/gunicorn" --bind "$H:9696" --workers 1 --threads 1 --timeout 300 --access-logfile /dev/null neutron_app:application
  gunicorn glance 9292 OS_GLANCE_CONFIG_DIR "$D/etc/glance"
  local k
  for k in account container object; do
    spawn "swift-$k" -- "$VENV/bin/swift-$k-server" "$D/etc/swift/$k-server.conf"
  done
  spawn swift-proxy -- "$VENV/bin/swift-proxy-server" "$D/etc/swift/proxy-server.conf"
  wait_port 8778 placement; wait_port 8774 nova; wait_port 9696 neutron; wait_port 9292 glance
  wait_port 6202 swift-account; wait_port 6201 swift-container; wait_port 6200 swift-object; wait_port 8080 swift-proxy
  wait_port 6385 ironic; wait_ironic
  external_network
  write_clouds
  log "up in $((SECONDS - t0)) s; export OS_CLIENT_CONFIG_FILE=$D/clouds.yaml (cloud 'devcloud')"
}

# Gone, or a zombie its parent has not reaped yet (this machine's PID 1 reaps late).
gone() { [ ! -e "/proc/$1" ] || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }

stop() {
  local f pid ironic="" i
  for f in "$D"/run/*.pid; do
    [ -f "$f" ] || continue
    pid="$(cat "$f")"
    if kill -0 "$pid" 2>/dev/null; then
      [ "$(basename "$f")" = ironic.pid ] && ironic="$pid"
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
  done
  sleep 0.5
  # Ironic stops gracefully in a few seconds and holds its port until then: wait, so that a start
  # right after finds the port free.
  if [ -n "$ironic" ]; then
    for i in $(seq 1 150); do gone "$ironic" && break; sleep 0.1; done
    gone "$ironic" || kill -KILL -- "-$ironic" 2>/dev/null || true
  fi
}

case "$cmd" in
  start) mkdir -p "$(dirname "$D")"; exec 9>"$D.lock"; flock 9; start ;;
  stop) stop ;;
  env) echo "$D/clouds.yaml" ;;
  install) install; install_ironic ;;
  reset) stop; rm -rf "$D" ;;
  *) echo "usage: $0 start|stop|env|install|reset" >&2; exit 2 ;;
esac
