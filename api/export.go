package api

import "github.com/openatp/openatp"

// AppendMachineJSON appends the Machine entity of m to b exactly as the API
// writes it (documented property order, every property present, compact).
// `openatp export` writes machines with it, so that an export is what
// clients of the API see.
func AppendMachineJSON(b []byte, m *openatp.Machine) []byte { return appendMachine(b, m) }
