// Package sequence turns what a scenario observed into sequence diagrams
// and scores them against the seed's: it parses the seed document's Mermaid
// sequenceDiagrams (participants and numbered steps), renders observed
// interactions as Mermaid with the same participants, and reports which
// numbered seed steps were observed, in which order, and which are missing.
package sequence
