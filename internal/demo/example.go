package demo

import (
	"time"

	"github.com/openatp/openatp"
)

// DocExample returns the data behind the Microsoft documentation's example
// of GET /api/users/user1/machines: user1 of domain contoso, logged on to
// mymachine1.contoso.com and mymachine2.contoso.com, and the device group
// "The-A-Team" (id 140) both machines belong to by their tag "test tag 1".
//
// The documented properties have their documented values. The others take
// values consistent with the documentation's other example of machine 1
// (version 1709, osProcessor x64, exposureLevel Medium, Azure AD joined),
// and plausible ones for the rest.
func DocExample() ([]openatp.Machine, []openatp.Logon, []openatp.DeviceGroup) {
	t1 := time.Date(2018, 8, 2, 14, 55, 3, 779185600, time.UTC)
	t2 := time.Date(2018, 7, 9, 13, 22, 45, 125007100, time.UTC)
	up := "Up"
	machines := []openatp.Machine{{
		ID:                    "1e5bc9d7e413ddd7902c2932e418702b84d0cc07",
		ComputerDNSName:       openatp.Ptr("mymachine1.contoso.com"),
		FirstSeen:             openatp.Ptr(t1),
		LastSeen:              openatp.Ptr(t1),
		OSPlatform:            openatp.Ptr("Windows10"),
		OSVersion:             openatp.Ptr("10.0.0.0"),
		OSProcessor:           openatp.Ptr("x64"),
		Version:               openatp.Ptr("1709"),
		LastIPAddress:         openatp.Ptr("172.17.230.209"),
		LastExternalIPAddress: openatp.Ptr("167.220.196.71"),
		AgentVersion:          openatp.Ptr("10.5830.18209.1001"),
		OSBuild:               openatp.Ptr(int64(18209)),
		HealthStatus:          openatp.Ptr("Active"),
		OnboardingStatus:      openatp.Ptr("Onboarded"),
		RiskScore:             openatp.Ptr("Low"),
		ExposureLevel:         openatp.Ptr("Medium"),
		IsAADJoined:           openatp.Ptr(true),
		AADDeviceID:           openatp.Ptr("80fe8ff8-2624-418e-9591-41f0491218f9"),
		MachineTags:           []string{"test tag 1", "test tag 2"},
		DeviceValue:           openatp.Ptr("Normal"),
		IPAddresses: []openatp.IPAddress{
			// The MAC address of this machine in the documentation's 2021 example.
			{IPAddress: "172.17.230.209", MACAddress: openatp.Ptr("8CEC4B897E73"), Type: openatp.Ptr("Ethernet"), OperationalStatus: openatp.Ptr(up)},
		},
		OSArchitecture: openatp.Ptr("64-bit"),
	}, {
		ID:                    "7292e4b8cb74ff1cc3d8a495eb29dc8858b732f7",
		ComputerDNSName:       openatp.Ptr("mymachine2.contoso.com"),
		FirstSeen:             openatp.Ptr(t2),
		LastSeen:              openatp.Ptr(t2),
		OSPlatform:            openatp.Ptr("Windows10"),
		OSVersion:             openatp.Ptr("10.0.0.0"),
		OSProcessor:           openatp.Ptr("x64"),
		Version:               openatp.Ptr("1709"),
		LastIPAddress:         openatp.Ptr("192.168.12.225"),
		LastExternalIPAddress: openatp.Ptr("79.183.65.82"),
		AgentVersion:          openatp.Ptr("10.5820.17724.1000"),
		OSBuild:               openatp.Ptr(int64(17724)),
		HealthStatus:          openatp.Ptr("Inactive"),
		OnboardingStatus:      openatp.Ptr("Onboarded"),
		RiskScore:             openatp.Ptr("Low"),
		ExposureLevel:         openatp.Ptr("Low"),
		IsAADJoined:           openatp.Ptr(false),
		AADDeviceID:           nil,
		MachineTags:           []string{"test tag 1"},
		DeviceValue:           openatp.Ptr("Normal"),
		IPAddresses: []openatp.IPAddress{
			{IPAddress: "192.168.12.225", MACAddress: openatp.Ptr("F8B1562A4C19"), Type: openatp.Ptr("Wireless80211"), OperationalStatus: openatp.Ptr(up)},
			{IPAddress: "127.0.0.1", Type: openatp.Ptr("SoftwareLoopback"), OperationalStatus: openatp.Ptr(up)},
		},
		OSArchitecture: openatp.Ptr("64-bit"),
	}}
	const sid = "S-1-5-21-72051607-1745760036-109187956-93922" // user1's SID in the documentation
	logons := []openatp.Logon{
		{MachineID: machines[0].ID, AccountName: "user1", AccountDomain: "contoso", AccountSID: sid, LogonType: "Interactive", Timestamp: t1},
		{MachineID: machines[1].ID, AccountName: "user1", AccountDomain: "contoso", AccountSID: sid, LogonType: "Interactive", Timestamp: t2},
	}
	groups := []openatp.DeviceGroup{{
		ID:          140,
		Name:        "The-A-Team",
		Description: "The device group of the Microsoft documentation's examples.",
		Rank:        1,
		Rules:       []openatp.RuleRow{{Property: openatp.RuleTag, Values: []string{"test tag 1"}}},
	}}
	return machines, logons, groups
}

// Groups returns device groups that sort Generate's machines by their tags
// and operating systems, ranked from 2 on (after DocExample's group) with
// ids from 141 on. Machines that match none stay in the default group.
func Groups() []openatp.DeviceGroup {
	tag := func(vs ...string) []openatp.RuleRow {
		return []openatp.RuleRow{{Property: openatp.RuleTag, Values: vs}}
	}
	return []openatp.DeviceGroup{
		{ID: 141, Name: "PCI", Description: "Machines in PCI scope.", Rank: 2, Rules: tag("PCI")},
		{ID: 142, Name: "VIP", Description: "Machines of executives.", Rank: 3, Rules: tag("VIP")},
		{ID: 143, Name: "Finance", Description: "Finance department.", Rank: 4, Rules: tag("Finance")},
		{ID: 144, Name: "Servers", Description: "Windows servers.", Rank: 5, Rules: []openatp.RuleRow{
			{Property: openatp.RuleOSPlatform, Values: []string{"WindowsServer2016", "WindowsServer2019", "WindowsServer2022"}},
		}},
		{ID: 145, Name: "Linux and Mac", Description: "Non-Windows machines.", Rank: 6, Rules: []openatp.RuleRow{
			{Property: openatp.RuleOSPlatform, Values: []string{"Linux", "macOS"}},
		}},
	}
}
