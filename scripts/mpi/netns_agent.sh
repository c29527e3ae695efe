#!/bin/sh
# mpirun's remote-shell agent for the two-host test (scripts/mpi/two_hosts.sh): instead of ssh
# to HOST, run the command inside the network namespace that owns HOST's address.
# SADDLE_NETNS_MAP lists "address=namespace" pairs separated by commas.
host="$1"
shift
namespace=""
for pair in $(echo "$SADDLE_NETNS_MAP" | tr ',' ' '); do
    [ "${pair%%=*}" = "$host" ] && namespace="${pair#*=}"
done
[ -n "$namespace" ] || { echo "netns_agent: no namespace for host $host in SADDLE_NETNS_MAP=$SADDLE_NETNS_MAP" >&2; exit 1; }
exec ip netns exec "$namespace" /bin/sh -c "$*"
