package wire_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/wire"
)

// indent prints JSON indented for reading; the API writes it as the wire
// package does, compact.
func indent(b []byte) {
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(out.String())
}

// A machine as GET /api/machines/{id} answers it (the documentation's
// mymachine2): every property in the documented order, unknown values
// null, times with 7 fractional digits.
func ExampleAppendMachine() {
	p := openatp.Ptr[string]
	seen := time.Date(2018, 7, 9, 13, 22, 45, 125007100, time.UTC)
	m := openatp.Machine{
		ID:                    "7292e4b8cb74ff1cc3d8a495eb29dc8858b732f7",
		ComputerDNSName:       p("mymachine2.contoso.com"),
		FirstSeen:             &seen,
		LastSeen:              &seen,
		OSPlatform:            p("Windows10"),
		OSVersion:             p("10.0.0.0"),
		OSProcessor:           p("x64"),
		Version:               p("1709"),
		LastIPAddress:         p("192.168.12.225"),
		LastExternalIPAddress: p("79.183.65.82"),
		AgentVersion:          p("10.5820.17724.1000"),
		OSBuild:               openatp.Ptr(int64(17724)),
		HealthStatus:          p("Inactive"),
		OnboardingStatus:      p("Onboarded"),
		RBACGroupID:           140,
		RBACGroupName:         "The-A-Team",
		RiskScore:             p("Low"),
		ExposureLevel:         p("Low"),
		IsAADJoined:           openatp.Ptr(false),
		MachineTags:           []string{"test tag 1"},
		DeviceValue:           p("Normal"),
		IPAddresses: []openatp.IPAddress{
			{IPAddress: "192.168.12.225", MACAddress: p("F8B1562A4C19"), Type: p("Wireless80211"), OperationalStatus: p("Up")},
		},
		OSArchitecture: p("64-bit"),
	}
	indent(wire.AppendMachine(nil, &m))
	// Output:
	// {
	//   "id": "7292e4b8cb74ff1cc3d8a495eb29dc8858b732f7",
	//   "computerDnsName": "mymachine2.contoso.com",
	//   "firstSeen": "2018-07-09T13:22:45.1250071Z",
	//   "lastSeen": "2018-07-09T13:22:45.1250071Z",
	//   "osPlatform": "Windows10",
	//   "osVersion": "10.0.0.0",
	//   "osProcessor": "x64",
	//   "version": "1709",
	//   "lastIpAddress": "192.168.12.225",
	//   "lastExternalIpAddress": "79.183.65.82",
	//   "agentVersion": "10.5820.17724.1000",
	//   "osBuild": 17724,
	//   "healthStatus": "Inactive",
	//   "onboardingStatus": "Onboarded",
	//   "rbacGroupId": 140,
	//   "rbacGroupName": "The-A-Team",
	//   "riskScore": "Low",
	//   "exposureLevel": "Low",
	//   "isAadJoined": false,
	//   "aadDeviceId": null,
	//   "machineTags": [
	//     "test tag 1"
	//   ],
	//   "deviceValue": "Normal",
	//   "ipAddresses": [
	//     {
	//       "ipAddress": "192.168.12.225",
	//       "macAddress": "F8B1562A4C19",
	//       "type": "Wireless80211",
	//       "operationalStatus": "Up"
	//     }
	//   ],
	//   "osArchitecture": "64-bit"
	// }
}

// A machine's logon user as GET /api/machines/{id}/logonusers answers it.
func ExampleAppendLogonUser() {
	u := openatp.UserMachine{
		AccountName:   "user1",
		AccountDomain: "contoso",
		AccountSID:    "S-1-5-21-72051607-1745760036-109187956-93922",
		MachineID:     "7292e4b8cb74ff1cc3d8a495eb29dc8858b732f7",
		FirstSeen:     time.Date(2018, 7, 9, 13, 22, 45, 125007100, time.UTC),
		LastSeen:      time.Date(2018, 8, 2, 14, 55, 3, 779185600, time.UTC),
		LogonTypes:    []string{"Interactive", "Network"},
	}
	fmt.Println(string(wire.AppendLogonUser(nil, &u, 2)))
	// Output:
	// {"id":"contoso\\user1","accountName":"user1","accountDomain":"contoso","accountSid":"S-1-5-21-72051607-1745760036-109187956-93922","firstSeen":"2018-07-09T13:22:45.1250071Z","lastSeen":"2018-08-02T14:55:03.7791856Z","logonTypes":"Interactive, Network","logOnMachinesCount":2,"isDomainAdmin":false,"isOnlyNetworkUser":false}
}

// An alert as GET /api/alerts answers it in a list (without
// $expand=evidence its evidence is an empty list). Its machine's name and
// device group are the machine's, filled in when the alert is read.
func ExampleAppendAlert() {
	p := openatp.Ptr[string]
	at := func(s string) *time.Time {
		t, _ := time.Parse(time.RFC3339Nano, s)
		return &t
	}
	a := openatp.Alert{
		ID:                 "da637472900382838869_1364969609",
		IncidentID:         openatp.Ptr(int64(1126093)),
		Severity:           "Low",
		Status:             "New",
		InvestigationState: p("Queued"),
		DetectionSource:    p("WindowsDefenderAtp"),
		Category:           p("Execution"),
		Title:              p("Low-reputation arbitrary code executed by signed executable"),
		AlertCreationTime:  at("2021-01-26T20:33:57.7220239Z"),
		FirstEventTime:     at("2021-01-26T20:31:32.9562661Z"),
		LastEventTime:      at("2021-01-26T20:31:33.0577322Z"),
		LastUpdateTime:     at("2021-01-26T20:33:59.2Z"),
		MachineID:          "111e6dd8c833c8a052ea231ec1b19adaf497b625",
		ComputerDNSName:    p("temp123.middleeast.corp.microsoft.com"),
		RBACGroupName:      "A",
		RBACGroupID:        1,
		MitreTechniques:    []string{"T1064", "T1085", "T1220"},
		RelatedUser:        &openatp.AlertAccount{Name: "temp123", Domain: p("DOMAIN")},
		Comments: []openatp.AlertComment{
			{Comment: "test comment for docs", CreatedBy: p("secop123@contoso.com"), CreatedTime: at("2021-01-26T01:00:37.8404534Z")},
		},
		Evidence: []openatp.Evidence{{EntityType: p("File"), FileName: p("suspicious.dll")}},
	}
	indent(wire.AppendAlert(nil, &a, false))
	// Output:
	// {
	//   "id": "da637472900382838869_1364969609",
	//   "incidentId": 1126093,
	//   "investigationId": null,
	//   "assignedTo": null,
	//   "severity": "Low",
	//   "status": "New",
	//   "classification": null,
	//   "determination": null,
	//   "investigationState": "Queued",
	//   "detectionSource": "WindowsDefenderAtp",
	//   "detectorId": null,
	//   "category": "Execution",
	//   "threatFamilyName": null,
	//   "title": "Low-reputation arbitrary code executed by signed executable",
	//   "description": null,
	//   "alertCreationTime": "2021-01-26T20:33:57.7220239Z",
	//   "firstEventTime": "2021-01-26T20:31:32.9562661Z",
	//   "lastEventTime": "2021-01-26T20:31:33.0577322Z",
	//   "lastUpdateTime": "2021-01-26T20:33:59.2Z",
	//   "resolvedTime": null,
	//   "machineId": "111e6dd8c833c8a052ea231ec1b19adaf497b625",
	//   "computerDnsName": "temp123.middleeast.corp.microsoft.com",
	//   "rbacGroupName": "A",
	//   "aadTenantId": null,
	//   "threatName": null,
	//   "mitreTechniques": [
	//     "T1064",
	//     "T1085",
	//     "T1220"
	//   ],
	//   "relatedUser": {
	//     "userName": "temp123",
	//     "domainName": "DOMAIN"
	//   },
	//   "loggedOnUsers": [],
	//   "comments": [
	//     {
	//       "comment": "test comment for docs",
	//       "createdBy": "secop123@contoso.com",
	//       "createdTime": "2021-01-26T01:00:37.8404534Z"
	//     }
	//   ],
	//   "evidence": []
	// }
}
