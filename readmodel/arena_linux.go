package readmodel

import "syscall"

// mapPopulate maps a chunk's pages at once: a chunk is filled right after
// it is mapped, and one call costs less than a fault per page.
const mapPopulate = syscall.MAP_POPULATE
