// Package podruntime is the kubelet of Rehearse's simulated nodes: it pulls
// each pod's images from a registry (through a mirror table, so the seed's
// registry address maps to the local one), runs the image's program as a
// local process on a loopback address of its own, executes the pod's
// readiness and liveness probes against it, and reports what happened in
// the pod's status and events. Pods annotated
// rehearse.dev/pod-lifecycle=simulated are left to KWOK's stages instead
// (no process; Ready at once), which is what capacity benchmarks want.
//
// Pod IPs come from 10.245.0.0/16 and each maps to 127.77.x.y, where the
// pod's processes listen (they are told the address in
// REHEARSE_POD_ADDRESS). Dial reaches a pod IP through that mapping, so
// traffic, probes and metrics scrapes never leave the loopback network.
package podruntime
