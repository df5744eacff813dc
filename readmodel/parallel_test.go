package readmodel

// The tests' tenants are small: parts of a few machines make their builds
// sort, rank and match groups in parallel, as a large tenant's do.
func init() { partMin = 4 }
