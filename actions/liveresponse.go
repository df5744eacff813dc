package actions

import (
	"context"
	"fmt"
	"time"

	"github.com/openatp/openatp"
)

// LibraryRunner returns a Config.Run that runs live response commands
// against the tenant's library in store: PutFile and RunScript fail when
// the library has no file of the name they give ("File <name> was not
// found in the library"), GetFile fails as no file has been placed on the
// machine. A store error fails the command too, with its message.
func LibraryRunner(store openatp.LibraryStore) func(ctx context.Context, tenantID string, a *openatp.MachineAction, c *openatp.LiveResponseCommand) string {
	return func(ctx context.Context, tenantID string, _ *openatp.MachineAction, c *openatp.LiveResponseCommand) string {
		if c.Type == openatp.CommandGetFile {
			return "File " + c.Param("Path") + " was not found on the machine"
		}
		_, err := store.LibraryFile(ctx, tenantID, c.LibraryName(), false)
		if openatp.IsKind(err, openatp.NotFound) {
			return "File " + c.LibraryName() + " was not found in the library"
		}
		if err != nil {
			return err.Error()
		}
		return ""
	}
}

// failCommands makes the commands of a live response action that a forced
// failure (Controls' failures, Clock.TrackFailing) has just made Failed
// look as the service's do when a command fails: the first command is
// Failed at stamp with a message naming the errorHResult, the later ones
// are skipped (Created, without times). Any other action is left as it
// is.
func failCommands(a *openatp.MachineAction, stamp time.Time) {
	if a.Type != openatp.ActionLiveResponse || a.Status != openatp.ActionFailed || len(a.Commands) == 0 {
		return
	}
	c := &a.Commands[0]
	c.StartTime, c.EndTime = &stamp, &stamp
	c.CommandStatus = openatp.CommandFailed
	c.Errors = []string{fmt.Sprintf("The command failed with error 0x%08X", uint32(a.ErrorHResult))}
}
