// Package openatp holds the domain of openatp, an open-source server that
// speaks the Microsoft Defender for Endpoint (MDE) REST API for machines and
// users: its entities, their validation, the error kinds every layer uses and
// the Store interface the storage engines implement.
//
// The package imports no database driver and no net/http; the engines
// (package sqlite), the HTTP API (packages httpserve, mdeapi and adminapi)
// and the token service (package auth) are built on it.
package openatp

// Version is the version of openatp, printed by the CLI and the server.
const Version = "0.1.0"
