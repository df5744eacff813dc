package openatp

import (
	"context"
	"net/netip"
	"time"
)

// MachineAPIStore is what the Machine API asks of the store beyond
// MachineStore: a machine's users, changes to one machine, and the
// history of the IP addresses machines reported. Every call names its
// tenant; nothing of one tenant is ever visible through another.
type MachineAPIStore interface {
	// MachineUsers returns the (user, machine) relations of one machine:
	// every user who logged on to it, with the spelling of the user's
	// first event, the user's first non-empty SID, and the first seen,
	// last seen and logon types of the relation. They are ordered by
	// NameKey of the account name, then of the domain, in byte order;
	// a machine nobody logged on to has none (an empty list). NotFound
	// (code "ResourceNotFound") if the tenant has no machine with that id
	// or does not exist.
	MachineUsers(ctx context.Context, tenantID, machineID string) ([]UserMachine, error)

	// UpdateMachine changes one machine in one write transaction: it
	// reads the stored machine (without its device group: RBACGroupID and
	// RBACGroupName are zero), calls f with it, normalizes what f left
	// (Machine.Normalize), stores it as UpsertMachines would (the IP
	// history included) and returns it as stored, without its device
	// group. Concurrent updates of a machine do not lose each other's
	// changes: each f sees the machine as the previous update left it.
	//
	// f must only change m: it runs while other writers wait, and may run
	// more than once (an engine may retry a transaction that collided
	// with another). An error of f is returned as it is and nothing is
	// written. Invalid (code "InvalidInput") if the result does not
	// normalize or f changed the id; NotFound (code "ResourceNotFound")
	// if the tenant has no machine with that id or does not exist.
	UpdateMachine(ctx context.Context, tenantID, id string, f func(m *Machine) error) (Machine, error)
	// UpdateMachines is UpdateMachine for several machines (distinct ids)
	// in one transaction: every machine is changed, or none (the first
	// error is returned). The machines come back in the order of ids.
	UpdateMachines(ctx context.Context, tenantID string, ids []string, f func(m *Machine) error) ([]Machine, error)

	// MachinesByIP returns the ids of the machines that reported ip
	// (as LastIPAddress or in IPAddresses; LastExternalIPAddress does not
	// count) at a time from ≤ seen ≤ to, each once, ordered by id, never
	// nil. Every machine write (UpsertMachines, WriteBatch, UpdateMachine)
	// records each address of the machine at its LastSeen, or at the
	// time of the write when LastSeen is unknown; DeleteMachine and
	// ResetTenant delete what they delete from the history. Addresses are
	// compared in their canonical form (IPKey), so an IPv4-mapped IPv6
	// address is its IPv4 address. Invalid if ip is the zero Addr;
	// NotFound if the tenant does not exist.
	MachinesByIP(ctx context.Context, tenantID string, ip netip.Addr, from, to time.Time) ([]string, error)
}

// IPKey is the canonical form in which the IP history of machines keeps
// and compares an address: ip.String() of the address with an IPv4-mapped
// IPv6 address unmapped (so "::ffff:10.0.0.1" is "10.0.0.1", and IPv6
// text is lowercase and shortened). A zone, if any, is kept.
func IPKey(ip netip.Addr) string { return ip.Unmap().String() }
