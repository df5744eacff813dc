package readmodel

// partMin is the least work worth a goroutine of its own: machines to
// sort, rank or match to device groups (parts.Split). The package's
// tests lower it, so that their small tenants take the parallel paths
// too.
var partMin = 1 << 14
