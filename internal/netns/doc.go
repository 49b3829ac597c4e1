// Package netns keeps programs that listen on every address off the
// machine's network: they run in a network namespace of their own, which
// has nothing but a loopback interface.
//
// Some components Rehearse runs cannot be told where to listen (Argo CD's
// application and notifications controllers and Argo Rollouts bind their
// metrics and health ports to 0.0.0.0, by code, in every pinned version).
// In a namespace of their own that bind reaches no interface but the
// namespace's loopback. They still reach the servers they need on the
// machine's 127.0.0.1 (the API server, Redis, the repo-server, the Git and
// mail servers a scenario starts later): an nftables rule in the
// namespace redirects every TCP connection to 127.0.0.0/8 to a forwarder
// that Rehearse listens with inside the namespace, which reads the
// original destination (SO_ORIGINAL_DST) and connects to it on the
// machine's loopback. A port the namespace must offer to the machine (a
// health or metrics port) is exposed on the machine's 127.0.0.1 with the
// same number.
//
// Making a namespace needs CAP_SYS_ADMIN and CAP_NET_ADMIN (root): New
// says why when the machine does not allow it, and callers run the
// programs as before.
package netns
