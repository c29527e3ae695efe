#!/usr/bin/env bash
# Two "hosts" on one machine: network namespaces joined by a veth pair, with Open MPI over TCP
# between them, so data-parallel training crosses a network stack rather than shared memory.
#
# usage: scripts/mpi/two_hosts.sh SADDLE RUN.json [saddle arguments...]
# Runs `mpirun -np 2` from the first namespace, one rank per namespace (the second started by
# scripts/mpi/netns_agent.sh in place of ssh), and prints what mpirun printed. Needs root
# (ip netns) and Open MPI; exits non-zero when anything cannot be set up. The namespaces share
# the machine's hostname, so the byte transfer layer is forced to TCP and the interfaces are
# restricted to the veth subnet.
set -euo pipefail
saddle="$1"
shift
here="$(cd "$(dirname "$0")" && pwd)"
tag="s$$"
a="saddle_${tag}_a" b="saddle_${tag}_b"
subnet_octet=$(( ($$ % 200) + 20 ))
subnet="10.$subnet_octet.77"
cleanup() {
    ip netns del "$a" 2>/dev/null || true
    ip netns del "$b" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$a"
ip netns add "$b"
ip link add "v${tag}a" type veth peer name "v${tag}b"
ip link set "v${tag}a" netns "$a"
ip link set "v${tag}b" netns "$b"
ip -n "$a" addr add "$subnet.1/24" dev "v${tag}a"
ip -n "$b" addr add "$subnet.2/24" dev "v${tag}b"
for ns in "$a" "$b"; do
    ip -n "$ns" link set lo up
done
ip -n "$a" link set "v${tag}a" up
ip -n "$b" link set "v${tag}b" up

export SADDLE_NETNS_MAP="$subnet.1=$a,$subnet.2=$b"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 SADDLE_NUM_THREADS=1
export SADDLE_MPI_SHIM="${SADDLE_MPI_SHIM:-$here/../../.build/mpi/libsaddle_mpi.so}"
ip netns exec "$a" mpirun -np 2 --host "$subnet.1:1,$subnet.2:1" \
    --mca plm_rsh_agent "$here/netns_agent.sh" --mca plm_rsh_no_tree_spawn 1 \
    --mca btl tcp,self --mca btl_tcp_if_include "$subnet.0/24" --mca oob_tcp_if_include "$subnet.0/24" \
    -x SADDLE_MPI_SHIM -x SADDLE_NUM_THREADS -x SADDLE_NETNS_MAP \
    "$saddle" "$@"
