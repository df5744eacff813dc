// Package openatp is the domain of openatp, an open-source server that speaks
// the Microsoft Defender for Endpoint (MDE) REST API: machines, users and
// their logons, alerts with their evidence and comments, tenants and their
// applications, and the RBAC of delegated callers (user groups, directory
// users, roles, device groups and the access they resolve to). It holds
// their validation, the error kinds every layer answers with ([Kind],
// [Error]), and the [Store] interface, made of one interface per concern
// ([TenantStore], [MachineStore], [AlertStore], [RBACStore], ...), whose
// method comments state the contract.
//
// The package computes only: it imports no net/http, no database driver,
// no log and no file system (imports_test.go holds the rules of every
// package). The storage engines (sqlite, postgres) implement Store and
// pass the conformance suite in storetest; the read model (readmodel), the
// wire schema (wire), the token service (auth) and the HTTP packages are
// built on it. docs/architecture.md draws the whole.
package openatp

// Version is the version of openatp, printed by the CLI and the server.
const Version = "0.1.0"
