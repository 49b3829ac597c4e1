// Package loopback keeps every connection Rehearse makes on 127.0.0.0/8.
//
// The user's documents name production hosts (GitLab at 192.168.0.11:7780,
// Harbor at 192.168.0.11:30800). Rehearse must never send a packet to them.
// A Rewriter maps such URLs to local stand-ins with explicit rules, in the
// manner of git's url.<base>.insteadOf, and refuses any URL that would still
// leave the loopback network; a guarded Dialer refuses non-loopback addresses
// before any packet is sent.
package loopback
