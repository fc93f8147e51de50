#!/usr/bin/env bash
# The seed's tenant preparation (create_ocp_tenant.sh) three ways, side by side in one run against
# the same devcloud (tests/harness/devcloud.sh): python-openstackclient commands as the article
# runs them, curl reusing one token (the floor for sequential calls), and labsh. Each run uses
# names of its own; what a run made is removed after it, untimed. Prints every run and the medians.
#   tools/bench-tenant.sh [RUNS]
set -euo pipefail
source "$(dirname "$0")/bench-common.sh"
runs="${1:-5}"
tests/harness/devcloud.sh start >/dev/null 2>&1
export OS_CLIENT_CONFIG_FILE="$(tests/harness/devcloud.sh env)"
osc="${LABSH_OSC_VENV:-$HOME/.cache/labsh/venv-osc}/bin/openstack"
bench_work
qemu-img create -q -f qcow2 "$work/rhcos.qcow2" 16M
pw="$(sed -n 's/^ *password: //p' "$OS_CLIENT_CONFIG_FILE" | head -1)"
K=http://127.0.0.1:5000/v3 N=http://127.0.0.1:9696/v2.0 C=http://127.0.0.1:8774/v2.1 G=http://127.0.0.1:9292/v2

with_osc() { # suffix api ingress
  local s="$1" O=("$osc" --os-cloud devcloud)
  "${O[@]}" project create "b-tenant-$s" >/dev/null
  "${O[@]}" user create "b-user-$s" --password benchpass-1234 >/dev/null
  local user admin project
  user=$("${O[@]}" user show "b-user-$s" -f value -c id)
  admin=$("${O[@]}" user show admin -f value -c id)
  project=$("${O[@]}" project show "b-tenant-$s" -f value -c id)
  "${O[@]}" role add --user "$user" --project "$project" member
  "${O[@]}" role add --user "$user" --project "$project" admin
  "${O[@]}" role add --user "$admin" --project "$project" admin
  "${O[@]}" role add --user "$user" --project "$project" swiftoperator
  "${O[@]}" quota show --compute "b-tenant-$s" -f yaml >/dev/null
  "${O[@]}" quota set --cores 40 --ram 102400 "$project"
  "${O[@]}" quota show --network "b-tenant-$s" -f yaml >/dev/null
  "${O[@]}" quota set --secgroups 40 --secgroup-rules 500 "$project"
  "${O[@]}" flavor create --ram 16384 --vcpu 4 --disk 25 "b-master-$s" >/dev/null
  OS_CLOUD= OS_CLIENT_CONFIG_FILE=/dev/null OS_AUTH_URL=$K OS_USERNAME="b-user-$s" OS_PASSWORD=benchpass-1234 \
    OS_PROJECT_NAME="b-tenant-$s" OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default OS_REGION_NAME=regionOne \
    "$osc" object store account set --property Temp-URL-Key=superkey
  "${O[@]}" image create --container-format=bare --disk-format=qcow2 --file "$work/rhcos.qcow2" "b-rhcos-$s" >/dev/null
  "${O[@]}" floating ip create --floating-ip-address "$2" --project "b-tenant-$s" external >/dev/null
  "${O[@]}" floating ip create --floating-ip-address "$3" --project "b-tenant-$s" external >/dev/null
}

tok() { # user project password
  curl -s -o /dev/null -D - -H 'Content-Type: application/json' "$K/auth/tokens" -d \
    "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"$1\",\"domain\":{\"id\":\"default\"},\"password\":\"$3\"}}},\"scope\":{\"project\":{\"name\":\"$2\",\"domain\":{\"id\":\"default\"}}}}}" \
    | sed -n 's/^[Xx]-[Ss]ubject-[Tt]oken: //p' | tr -d '\r'
}

with_curl() { # suffix api ingress: the same calls, one token, sequential
  local s="$1" T; T=$(tok admin admin "$pw")
  local H=(-s -H "X-Auth-Token: $T" -H 'Content-Type: application/json')
  local project user admin rm ra rs
  project=$(curl "${H[@]}" "$K/projects" -d "{\"project\":{\"name\":\"b-tenant-$s\",\"domain_id\":\"default\"}}" | jq -r .project.id)
  user=$(curl "${H[@]}" "$K/users" -d "{\"user\":{\"name\":\"b-user-$s\",\"domain_id\":\"default\",\"password\":\"benchpass-1234\"}}" | jq -r .user.id)
  admin=$(curl "${H[@]}" "$K/users?name=admin" | jq -r '.users[0].id')
  rm=$(curl "${H[@]}" "$K/roles?name=member" | jq -r '.roles[0].id')
  ra=$(curl "${H[@]}" "$K/roles?name=admin" | jq -r '.roles[0].id')
  rs=$(curl "${H[@]}" "$K/roles?name=swiftoperator" | jq -r '.roles[0].id')
  curl "${H[@]}" -X PUT "$K/projects/$project/users/$user/roles/$rm" -o /dev/null
  curl "${H[@]}" -X PUT "$K/projects/$project/users/$user/roles/$ra" -o /dev/null
  curl "${H[@]}" -X PUT "$K/projects/$project/users/$admin/roles/$ra" -o /dev/null
  curl "${H[@]}" -X PUT "$K/projects/$project/users/$user/roles/$rs" -o /dev/null
  curl "${H[@]}" "$C/os-quota-sets/$project/detail" -o /dev/null
  curl "${H[@]}" -X PUT "$C/os-quota-sets/$project" -d '{"quota_set":{"cores":40,"ram":102400}}' -o /dev/null
  curl "${H[@]}" "$N/quotas/$project/details.json" -o /dev/null
  curl "${H[@]}" -X PUT "$N/quotas/$project" -d '{"quota":{"security_group":40,"security_group_rule":500}}' -o /dev/null
  curl "${H[@]}" "$C/flavors" -d "{\"flavor\":{\"name\":\"b-master-$s\",\"ram\":16384,\"vcpus\":4,\"disk\":25}}" -o /dev/null
  local UT; UT=$(tok "b-user-$s" "b-tenant-$s" benchpass-1234)
  curl -s -X POST -H "X-Auth-Token: $UT" -H 'X-Account-Meta-Temp-URL-Key: superkey' "http://127.0.0.1:8080/v1/AUTH_$project" -o /dev/null
  local img; img=$(curl "${H[@]}" "$G/images" -d "{\"name\":\"b-rhcos-$s\",\"disk_format\":\"qcow2\",\"container_format\":\"bare\"}" | jq -r .id)
  curl -s -X PUT -H "X-Auth-Token: $T" -H 'Content-Type: application/octet-stream' --data-binary "@$work/rhcos.qcow2" "$G/images/$img/file" -o /dev/null
  local net; net=$(curl "${H[@]}" "$N/networks?name=external" | jq -r '.networks[0].id')
  curl "${H[@]}" "$N/floatingips" -d "{\"floatingip\":{\"floating_network_id\":\"$net\",\"floating_ip_address\":\"$2\",\"project_id\":\"$project\"}}" -o /dev/null
  curl "${H[@]}" "$N/floatingips" -d "{\"floatingip\":{\"floating_network_id\":\"$net\",\"floating_ip_address\":\"$3\",\"project_id\":\"$project\"}}" -o /dev/null
}

with_labsh() { # suffix api ingress (each request the client makes logged into labsh-SUFFIX.log)
  LABSH_LOG=labsh::cloud=debug LABSH_STATE_DIR="$work/state" LABSH_SECRET_OCP_USER_PASSWORD=benchpass-1234 LABSH_SECRET_TEMP_URL_KEY=superkey \
  "$bin" run scripts/create_ocp_tenant.rhai --set cloud=devcloud --set "image=$work/rhcos.qcow2" \
    --set "out=$work/out-$1" --set "project=b-tenant-$1" --set "user=b-user-$1" --set "flavor=b-master-$1" \
    --set "image_name=b-rhcos-$1" --set "api_fip=$2" --set "ingress_fip=$3" >/dev/null 2>"$work/labsh-$1.log"
}

cleanup() { # suffix api ingress (untimed)
  local O=("$osc" --os-cloud devcloud) id
  for a in "$2" "$3"; do
    id=$("${O[@]}" floating ip list --floating-ip-address "$a" -f value -c ID)
    [ -n "$id" ] && "${O[@]}" floating ip delete "$id"
  done
  "${O[@]}" image delete "b-rhcos-$1" 2>/dev/null || true
  "${O[@]}" flavor delete "b-master-$1" 2>/dev/null || true
  "${O[@]}" user delete "b-user-$1" 2>/dev/null || true
  "${O[@]}" project delete "b-tenant-$1" 2>/dev/null || true
}

now() { date +%s.%N; }
declare -A times
for i in $(seq 1 "$runs"); do
  for way in osc curl labsh; do
    s="$way$i-$$"
    t0=$(now); "with_$way" "$s" 192.168.122.186 192.168.122.187; t1=$(now)
    times[$way,$i]=$(echo "$t1 - $t0" | bc)
    cleanup "$s" 192.168.122.186 192.168.122.187
  done
  # curl makes 23 requests, one after the other (the with_curl above); labsh's, as its client logs them.
  n=$(grep -c ' request method=' "$work/labsh-labsh$i-$$.log" || true)
  printf 'run %d: openstackclient %6.2f s  curl %5.2f s  labsh %5.2f s  ratio osc/labsh %5.1fx  curl/labsh %4.2fx  requests curl 23 labsh %d\n' "$i" \
    "${times[osc,$i]}" "${times[curl,$i]}" "${times[labsh,$i]}" \
    "$(echo "${times[osc,$i]} / ${times[labsh,$i]}" | bc -l)" "$(echo "${times[curl,$i]} / ${times[labsh,$i]}" | bc -l)" "$n"
done
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
for way in osc curl labsh; do
  m=$(for i in $(seq 1 "$runs"); do echo "${times[$way,$i]}"; done | median)
  printf 'median %-6s %6.2f s\n' "$way" "$m"
done
