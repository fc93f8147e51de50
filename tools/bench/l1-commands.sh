#!/usr/bin/env bash
# The seed's L1 as the article's command sequence (qemu-img, virt-install, virsh, vbmc, ipmitool),
# against the same daemon and with the same sizes as tools/bench/l1.rhai.
set -euo pipefail
uri=$1 images=$2 vbmc_config=$3 pw=$4
export VIRTUALBMC_CONFIG=$vbmc_config
cat > "$images/provisioning.xml" <<X
<network><name>provisioning</name><ip address="172.16.0.254" netmask="255.255.255.0"/></network>
X
virsh -q -c "$uri" net-define "$images/provisioning.xml" >/dev/null
virsh -q -c "$uri" net-autostart provisioning >/dev/null
virsh -q -c "$uri" net-start provisioning >/dev/null
if virsh -c "$uri" net-dumpxml default | grep -q dhcp; then
    virsh -q -c "$uri" net-update default delete ip-dhcp-range "<range start='192.168.122.2' end='192.168.122.254'/>" --live --config >/dev/null
fi
qemu-img create -q -f qcow2 "$images/rhel7-guest.qcow2" 100G
vm() { # name ram vcpus nics...
    local name=$1 ram=$2 cpus=$3; shift 3
    qemu-img create -q -f qcow2 -b "$images/rhel7-guest.qcow2" -F qcow2 "$images/$name.qcow2"
    local nets=()
    for n in "$@"; do nets+=(--network "network:$n"); done
    virt-install -q --connect "$uri" --virt-type qemu --ram "$ram" --vcpus "$cpus" --os-variant rhel7.9 \
        --disk "path=$images/$name.qcow2,device=disk,bus=virtio,format=qcow2" \
        --import --noautoconsole --vnc "${nets[@]}" --name "$name" >/dev/null
    virsh -q -c "$uri" autostart "$name" >/dev/null
}
vm undercloud 12288 8 provisioning default
for i in 1 2 3; do vm "overcloud-ctrl0$i" 16384 4 provisioning default default default; done
for i in 1 2 3; do vm "overcloud-ceph0$i" 4096 2 provisioning default default default; done
vm overcloud-compute01 8192 16 provisioning default default default
port=6230
for n in overcloud-ceph01 overcloud-ceph02 overcloud-ceph03 overcloud-compute01 overcloud-ctrl01 overcloud-ctrl02 overcloud-ctrl03; do
    vbmc add "$n" --port "$port" --address 127.0.0.1 --username admin --password "$pw" --libvirt-uri "$uri" >/dev/null
    vbmc start "$n" >/dev/null
    port=$((port + 1))
done
for p in $(seq 6230 6236); do
    ipmitool -I lanplus -H 127.0.0.1 -p "$p" -U admin -P "$pw" power status >/dev/null
done
