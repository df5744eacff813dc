package actions

import (
	"context"

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
