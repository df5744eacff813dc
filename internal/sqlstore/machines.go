package sqlstore

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/openatp/openatp"
)

// MachineInsertColumns are the stored properties of a machine, the
// columns of the machines table but tenant_seq (and the engine's row
// number), in the order both engines write them and their machine scans
// read them.
const MachineInsertColumns = `id, computer_dns_name, first_seen, last_seen, os_platform, os_version,
	os_processor, version, last_ip_address, last_external_ip_address, agent_version, os_build,
	health_status, onboarding_status, risk_score, exposure_level, is_aad_joined, aad_device_id,
	machine_tags, device_value, ip_addresses, os_architecture`

// MachineColumns are MachineInsertColumns qualified by the alias m.
var MachineColumns = "m." + strings.Join(strings.Fields(MachineInsertColumns), " m.")

// MachineUpdateSet is the SET clause of an upsert of machines by
// (tenant_seq, id): every column but the keys, from the row proposed
// (excluded).
var MachineUpdateSet = updateSet(MachineInsertColumns)

// MachineCells are the columns of a normalized machine's row that are not
// its properties as they are: its times in nanoseconds (nil: NULL) and its
// lists as JSON.
type MachineCells struct {
	FirstSeen, LastSeen *int64
	Tags, IPAddresses   string
}

// EncodeMachine returns the MachineCells of m. Invalid if a time is out of
// range.
func EncodeMachine(m *openatp.Machine) (MachineCells, error) {
	var c MachineCells
	var err error
	if c.FirstSeen, err = optNanos("firstSeen", m.FirstSeen); err != nil {
		return c, err
	}
	if c.LastSeen, err = optNanos("lastSeen", m.LastSeen); err != nil {
		return c, err
	}
	tags, err := json.Marshal(m.MachineTags)
	if err != nil {
		return c, err
	}
	ips, err := json.Marshal(m.IPAddresses)
	if err != nil {
		return c, err
	}
	c.Tags, c.IPAddresses = string(tags), string(ips)
	return c, nil
}

// optNanos is Nanos for an optional time.
func optNanos(field string, t *time.Time) (*int64, error) {
	if t == nil {
		return nil, nil
	}
	n, err := Nanos(field, *t)
	return &n, err
}
