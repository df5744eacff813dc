package openatp

import (
	"encoding/json"
	"time"
)

// The live response commands (mde-reference §12.3.1.2, runliveresponse),
// in the order a request must give them: every PutFile before every
// RunScript, every RunScript before every GetFile.
const (
	CommandPutFile   = "PutFile"
	CommandRunScript = "RunScript"
	CommandGetFile   = "GetFile"
)

// LiveResponseCommands are the command types in their required order.
var LiveResponseCommands = []string{CommandPutFile, CommandRunScript, CommandGetFile}

// The statuses of a live response command.
const (
	CommandCreated   = "Created"
	CommandCompleted = "Completed"
	CommandFailed    = "Failed"
)

// LiveResponseFailHResult is the errorHResult of a live response action
// whose command failed: 0x80070002, "file not found", as a signed 32-bit
// number.
const LiveResponseFailHResult int32 = -2147024894

// Param returns the value of the command's parameter key ("" if absent).
func (c *LiveResponseCommand) Param(key string) string {
	for _, p := range c.Params {
		if p.Key == key {
			return p.Value
		}
	}
	return ""
}

// LibraryName returns the library file a command names: PutFile's
// FileName, RunScript's ScriptName; "" for GetFile.
func (c *LiveResponseCommand) LibraryName() string {
	switch c.Type {
	case CommandPutFile:
		return c.Param("FileName")
	case CommandRunScript:
		return c.Param("ScriptName")
	}
	return ""
}

// RunCommands runs the commands of a live response action that has just
// succeeded, at stamp, in order: run returns the error message of a
// command that fails ("" when it completes). Each command run is stamped
// (startTime, endTime) and Completed; the first that fails is Failed with
// its message, the later ones are skipped (they stay Created, without
// times), and the action ends Failed with LiveResponseFailHResult. Any
// other action, or status, is left as it is.
func (a *MachineAction) RunCommands(stamp time.Time, run func(c *LiveResponseCommand) string) {
	if a.Type != ActionLiveResponse || a.Status != ActionSucceeded {
		return
	}
	for i := range a.Commands {
		c := &a.Commands[i]
		c.StartTime, c.EndTime = &stamp, &stamp
		if msg := run(&c.Command); msg != "" {
			c.CommandStatus, c.Errors = CommandFailed, []string{msg}
			a.Status, a.ErrorHResult = ActionFailed, LiveResponseFailHResult
			return
		}
		c.CommandStatus = CommandCompleted
	}
}

// ScriptTranscript is the result of a RunScript command, as the file its
// download link serves: the documented script_name, exit_code,
// script_output and script_errors.
type ScriptTranscript struct {
	ScriptName   string `json:"script_name"`
	ExitCode     int    `json:"exit_code"`
	ScriptOutput string `json:"script_output"`
	ScriptErrors string `json:"script_errors"`
}

// Transcript returns the deterministic transcript of RunScript command c
// of action a: exit code 0, an output naming the script, its arguments
// and the machine, no errors.
func (a *MachineAction) Transcript(c *LiveResponseCommand) ScriptTranscript {
	host := a.MachineID
	if a.ComputerDNSName != nil {
		host = *a.ComputerDNSName
	}
	out := "Ran " + c.Param("ScriptName")
	if args := c.Param("Args"); args != "" {
		out += " " + args
	}
	return ScriptTranscript{ScriptName: c.Param("ScriptName"), ScriptOutput: out + " on " + host + "\n"}
}

// MarshalTranscript is the JSON of a transcript, as the result file holds
// it.
func MarshalTranscript(t ScriptTranscript) []byte {
	b, _ := json.Marshal(t) // a struct of strings and an int: cannot fail
	return b
}
