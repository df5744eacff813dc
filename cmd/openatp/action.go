package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/openatp/openatp"
)

// cliRequestor is the cancellationRequestor of an action cancelled with
// `openatp action cancel` unless --requestor says otherwise.
const cliRequestor = "openatp-cli"

// runAction: openatp action list|get|cancel, the machine actions of a
// tenant, read and cancelled in the store.
func runAction(ctx context.Context, env *cliEnv, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("action: give a subcommand: list, get or cancel")
	}
	c := newTenantCmd(env, "action "+args[0])
	switch args[0] {
	case "list":
		status := c.fs.String("status", "", "only actions in this status: "+strings.Join(openatp.ActionStatuses, ", "))
		machine := c.fs.String("machine", "", "only actions on the machine of this id")
		limit := c.fs.Int("limit", 100, "at most this many actions, the most recently updated first (0: all)")
		store, t, err := c.open(ctx, env, args[1:])
		if err != nil {
			return err
		}
		defer store.Close()
		if *limit < 0 {
			return fmt.Errorf("--limit must be >= 0")
		}
		f := openatp.MachineActionFilter{Desc: true, Top: *limit}
		if *status != "" {
			s, ok := openatp.CanonicalEnum(openatp.ActionStatuses, *status)
			if !ok {
				return fmt.Errorf("--status %q is not one of %s", *status, strings.Join(openatp.ActionStatuses, ", "))
			}
			f.Statuses = []string{s}
		}
		if *machine != "" {
			f.MachineIDs = []string{strings.ToLower(*machine)}
		}
		as, err := store.MachineActions(ctx, t.ID, f)
		if err != nil {
			return err
		}
		out := make([]actionJSON, 0, len(as))
		for i := range as {
			out = append(out, newActionJSON(&as[i]))
		}
		return printJSON(env.stdout, out)
	case "get":
		id := c.fs.String("id", "", "the action's id")
		store, t, err := c.open(ctx, env, args[1:])
		if err != nil {
			return err
		}
		defer store.Close()
		a, err := store.MachineAction(ctx, t.ID, strings.ToLower(*id))
		if err != nil {
			return err
		}
		return printJSON(env.stdout, newActionJSON(&a))
	case "cancel":
		id := c.fs.String("id", "", "the action's id")
		comment := c.fs.String("comment", "", "the cancellation comment (cancellationComment; none: null)")
		requestor := c.fs.String("requestor", cliRequestor, "the cancellationRequestor")
		store, t, err := c.open(ctx, env, args[1:])
		if err != nil {
			return err
		}
		defer store.Close()
		a, err := store.UpdateMachineAction(ctx, t.ID, strings.ToLower(*id), func(a *openatp.MachineAction, stamp time.Time) error {
			return a.Cancel(*requestor, *comment, stamp)
		})
		if err != nil {
			return err
		}
		return printJSON(env.stdout, newActionJSON(&a))
	}
	return fmt.Errorf("action: unknown subcommand %q (list, get, cancel)", args[0])
}

// actionJSON is a machine action as the CLI prints it: the properties of
// the API's MachineAction, in its order, but commands (live response is
// not served yet).
type actionJSON struct {
	ID                      string           `json:"id"`
	Type                    string           `json:"type"`
	Title                   *string          `json:"title"`
	Requestor               string           `json:"requestor"`
	RequestorComment        string           `json:"requestorComment"`
	Status                  string           `json:"status"`
	MachineID               string           `json:"machineId"`
	ComputerDNSName         *string          `json:"computerDnsName"`
	CreationDateTimeUTC     string           `json:"creationDateTimeUtc"`
	LastUpdateDateTimeUTC   string           `json:"lastUpdateDateTimeUtc"`
	CancellationRequestor   *string          `json:"cancellationRequestor"`
	CancellationComment     *string          `json:"cancellationComment"`
	CancellationDateTimeUTC *string          `json:"cancellationDateTimeUtc"`
	ErrorHResult            int32            `json:"errorHResult"`
	Scope                   *string          `json:"scope"`
	ExternalID              *string          `json:"externalId"`
	RequestSource           *string          `json:"requestSource"`
	RelatedFileInfo         *relatedFileJSON `json:"relatedFileInfo"`
	TroubleshootInfo        *string          `json:"troubleshootInfo"`
}

type relatedFileJSON struct {
	FileIdentifier     string `json:"fileIdentifier"`
	FileIdentifierType string `json:"fileIdentifierType"`
}

// actionTime formats an action's time as the API does: seven fractional
// digits.
func actionTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000Z") }

func newActionJSON(a *openatp.MachineAction) actionJSON {
	j := actionJSON{ID: a.ID, Type: a.Type, Title: a.Title, Requestor: a.Requestor, RequestorComment: a.RequestorComment,
		Status: a.Status, MachineID: a.MachineID, ComputerDNSName: a.ComputerDNSName,
		CreationDateTimeUTC: actionTime(a.CreationDateTimeUTC), LastUpdateDateTimeUTC: actionTime(a.LastUpdateDateTimeUTC),
		CancellationRequestor: a.CancellationRequestor, CancellationComment: a.CancellationComment, ErrorHResult: a.ErrorHResult,
		Scope: a.Scope, ExternalID: a.ExternalID, RequestSource: a.RequestSource,
		TroubleshootInfo: a.TroubleshootInfo}
	if a.CancellationDateTimeUTC != nil {
		j.CancellationDateTimeUTC = openatp.Ptr(actionTime(*a.CancellationDateTimeUTC))
	}
	if a.RelatedFileInfo != nil {
		j.RelatedFileInfo = &relatedFileJSON{a.RelatedFileInfo.FileIdentifier, a.RelatedFileInfo.FileIdentifierType}
	}
	return j
}
