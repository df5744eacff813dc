package huntables

import "strings"

// The columns of the tables, names and types as Microsoft's advanced
// hunting schema reference gives them (Learn, "advanced-hunting-*-table",
// read 2026-12), in its order; "boolean" there is KQL's bool. openatp
// fills the columns it has data for (tables.go); the rest are present,
// empty for a string and null for any other type.

var deviceInfoColumns = parseColumns(`Timestamp:datetime DeviceId:string DeviceName:string
ClientVersion:string PublicIP:string OSArchitecture:string OSPlatform:string OSBuild:long
IsAzureADJoined:bool JoinType:string AadDeviceId:string LoggedOnUsers:string RegistryDeviceTag:string
OSVersion:string MachineGroup:string ReportId:long OnboardingStatus:string AdditionalFields:string
DeviceCategory:string DeviceType:string DeviceSubtype:string Model:string Vendor:string
OSDistribution:string OSVersionInfo:string MergedDeviceIds:string MergedToDeviceId:string
IsInternetFacing:bool SensorHealthState:string IsExcluded:bool ExclusionReason:string
ExposureLevel:string AssetValue:string DeviceManualTags:string DeviceDynamicTags:string
ConnectivityType:string HostDeviceId:string`)

var deviceNetworkInfoColumns = parseColumns(`Timestamp:datetime DeviceId:string DeviceName:string
NetworkAdapterName:string MacAddress:string NetworkAdapterType:string NetworkAdapterStatus:string
TunnelType:string ConnectedNetworks:string DnsAddresses:string IPv4Dhcp:string IPv6Dhcp:string
DefaultGateways:string IPAddresses:string ReportId:long NetworkAdapterVendor:string`)

var deviceLogonEventsColumns = parseColumns(`Timestamp:datetime DeviceId:string DeviceName:string
ActionType:string LogonType:string AccountDomain:string AccountName:string AccountSid:string
Protocol:string FailureReason:string IsLocalAdmin:bool LogonId:long RemoteDeviceName:string
RemoteIP:string RemoteIPType:string RemotePort:int InitiatingProcessAccountDomain:string
InitiatingProcessAccountName:string InitiatingProcessAccountSid:string InitiatingProcessAccountUpn:string
InitiatingProcessAccountObjectId:string InitiatingProcessIntegrityLevel:string
InitiatingProcessTokenElevation:string InitiatingProcessSHA1:string InitiatingProcessSHA256:string
InitiatingProcessMD5:string InitiatingProcessFileName:string InitiatingProcessFileSize:long
InitiatingProcessVersionInfoCompanyName:string InitiatingProcessVersionInfoProductName:string
InitiatingProcessVersionInfoProductVersion:string InitiatingProcessVersionInfoInternalFileName:string
InitiatingProcessVersionInfoOriginalFileName:string InitiatingProcessVersionInfoFileDescription:string
InitiatingProcessId:long InitiatingProcessCommandLine:string InitiatingProcessCreationTime:datetime
InitiatingProcessFolderPath:string InitiatingProcessParentId:long InitiatingProcessParentFileName:string
InitiatingProcessParentCreationTime:datetime ReportId:long AppGuardContainerId:string
AdditionalFields:string InitiatingProcessSessionId:long IsInitiatingProcessRemoteSession:bool
InitiatingProcessRemoteSessionDeviceName:string InitiatingProcessRemoteSessionIP:string`)

var alertInfoColumns = parseColumns(`Timestamp:datetime AlertId:string Title:string Category:string
Severity:string ServiceSource:string DetectionSource:string AttackTechniques:string`)

var alertEvidenceColumns = parseColumns(`Timestamp:datetime AlertId:string Title:string Categories:string
AttackTechniques:string ServiceSource:string DetectionSource:string EntityType:string EvidenceRole:string
EvidenceDirection:string FileName:string FolderPath:string SHA1:string SHA256:string FileSize:long
ThreatFamily:string RemoteIP:string RemoteUrl:string AccountName:string AccountDomain:string
AccountSid:string AccountObjectId:string AccountUpn:string DeviceId:string DeviceName:string
LocalIP:string NetworkMessageId:string EmailSubject:string Application:string ApplicationId:int
OAuthApplicationId:string ProcessCommandLine:string RegistryKey:string RegistryValueName:string
RegistryValueData:string AdditionalFields:string Severity:string CloudResource:string
CloudPlatform:string ResourceType:string ResourceID:string SubscriptionId:string`)

var deviceFileEventsColumns = parseColumns(`Timestamp:datetime DeviceId:string DeviceName:string
ActionType:string FileName:string FolderPath:string SHA1:string SHA256:string MD5:string
FileOriginUrl:string FileOriginReferrerUrl:string FileOriginIP:string PreviousFolderPath:string
PreviousFileName:string FileSize:long InitiatingProcessAccountDomain:string
InitiatingProcessAccountName:string InitiatingProcessAccountSid:string InitiatingProcessAccountUpn:string
InitiatingProcessAccountObjectId:string InitiatingProcessMD5:string InitiatingProcessSHA1:string
InitiatingProcessSHA256:string InitiatingProcessFolderPath:string InitiatingProcessFileName:string
InitiatingProcessFileSize:long InitiatingProcessVersionInfoCompanyName:string
InitiatingProcessVersionInfoProductName:string InitiatingProcessVersionInfoProductVersion:string
InitiatingProcessVersionInfoInternalFileName:string InitiatingProcessVersionInfoOriginalFileName:string
InitiatingProcessVersionInfoFileDescription:string InitiatingProcessId:long
InitiatingProcessCommandLine:string InitiatingProcessCreationTime:datetime
InitiatingProcessIntegrityLevel:string InitiatingProcessTokenElevation:string InitiatingProcessParentId:long
InitiatingProcessParentFileName:string InitiatingProcessParentCreationTime:datetime
RequestProtocol:string RequestSourceIP:string RequestSourcePort:int RequestAccountName:string
RequestAccountDomain:string RequestAccountSid:string ShareName:string SensitivityLabel:string
SensitivitySubLabel:string IsAzureInfoProtectionApplied:bool ReportId:long AppGuardContainerId:string
AdditionalFields:string InitiatingProcessSessionId:long IsInitiatingProcessRemoteSession:bool
InitiatingProcessRemoteSessionDeviceName:string InitiatingProcessRemoteSessionIP:string`)

var deviceNetworkEventsColumns = parseColumns(`Timestamp:datetime DeviceId:string DeviceName:string
ActionType:string RemoteIP:string RemotePort:int RemoteUrl:string LocalIP:string LocalPort:int
Protocol:string LocalIPType:string RemoteIPType:string InitiatingProcessSHA1:string
InitiatingProcessSHA256:string InitiatingProcessMD5:string InitiatingProcessFileName:string
InitiatingProcessFileSize:long InitiatingProcessVersionInfoCompanyName:string
InitiatingProcessVersionInfoProductName:string InitiatingProcessVersionInfoProductVersion:string
InitiatingProcessVersionInfoInternalFileName:string InitiatingProcessVersionInfoOriginalFileName:string
InitiatingProcessVersionInfoFileDescription:string InitiatingProcessId:long
InitiatingProcessCommandLine:string InitiatingProcessCreationTime:datetime
InitiatingProcessFolderPath:string InitiatingProcessParentFileName:string InitiatingProcessParentId:long
InitiatingProcessParentCreationTime:datetime InitiatingProcessAccountDomain:string
InitiatingProcessAccountName:string InitiatingProcessAccountSid:string InitiatingProcessAccountUpn:string
InitiatingProcessAccountObjectId:string InitiatingProcessIntegrityLevel:string
InitiatingProcessTokenElevation:string ReportId:long AppGuardContainerId:string AdditionalFields:string
InitiatingProcessSessionId:long IsInitiatingProcessRemoteSession:bool
InitiatingProcessRemoteSessionDeviceName:string InitiatingProcessRemoteSessionIP:string`)

// parseColumns reads "Name:type" pairs separated by white space.
func parseColumns(s string) columns {
	var cs columns
	for _, f := range strings.Fields(s) {
		name, typ, ok := strings.Cut(f, ":")
		if !ok {
			panic("huntables: column " + f + " has no type")
		}
		cs = append(cs, Column{Name: name, Type: typ})
	}
	return cs
}

// columns is a table's column list.
type columns []Column

// index returns the position of the column name; it panics when there is
// none (a table's code names only its own columns).
func (cs columns) index(name string) int {
	for i, c := range cs {
		if c.Name == name {
			return i
		}
	}
	panic("huntables: no column " + name)
}

// template returns a row of the table with no data: "" in the string
// columns, nil (null) in the others.
func (cs columns) template() []any {
	row := make([]any, len(cs))
	for i, c := range cs {
		if c.Type == "string" {
			row[i] = ""
		}
	}
	return row
}
