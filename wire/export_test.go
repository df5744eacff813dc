package wire

// The JSON of a machine's properties before and after its device group:
// the tests state CompactMachine's contract with them.
var (
	AppendMachineHead = appendMachineHead
	AppendMachineTail = appendMachineTail
)
