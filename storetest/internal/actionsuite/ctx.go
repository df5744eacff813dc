package actionsuite

import "context"

// ctx is the context of every call.
var ctx = context.Background()
