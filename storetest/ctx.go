package storetest

import "context"

// ctx is the context of every call (testCanceled cancels its own).
var ctx = context.Background()
