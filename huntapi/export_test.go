package huntapi

// Pushed returns how many plans the stores have run (kql.PushTable).
func Pushed() int64 { return pushed.Load() }
