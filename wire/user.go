package wire

import (
	"strconv"
	"strings"

	"github.com/openatp/openatp"
)

// AppendLogonUser appends the User entity of a machine's logon user (GET
// /api/machines/{id}/logonusers, mde-reference §1.3): id is domain\name;
// logonTypes the relation's types joined with ", "; isOnlyNetworkUser
// whether the user logged on to the machine only over the network;
// logOnMachinesCount the machines the user has logged on to.
func AppendLogonUser(b []byte, u *openatp.UserMachine, machines int) []byte {
	b = append(b, `{"id":`...)
	b = AppendString(b, u.AccountDomain+`\`+u.AccountName)
	b = append(b, `,"accountName":`...)
	b = AppendString(b, u.AccountName)
	b = append(b, `,"accountDomain":`...)
	b = AppendString(b, u.AccountDomain)
	b = append(b, `,"accountSid":`...)
	if u.AccountSID == "" {
		b = append(b, "null"...)
	} else {
		b = AppendString(b, u.AccountSID)
	}
	b = append(b, `,"firstSeen":`...)
	b = AppendTime(b, &u.FirstSeen)
	b = append(b, `,"lastSeen":`...)
	b = AppendTime(b, &u.LastSeen)
	b = append(b, `,"logonTypes":`...)
	b = AppendString(b, strings.Join(u.LogonTypes, ", "))
	b = append(b, `,"logOnMachinesCount":`...)
	b = strconv.AppendInt(b, int64(machines), 10)
	b = append(b, `,"isDomainAdmin":false,"isOnlyNetworkUser":`...)
	only := len(u.LogonTypes) > 0
	for _, t := range u.LogonTypes {
		only = only && t == "Network"
	}
	b = strconv.AppendBool(b, only)
	return append(b, '}')
}
